/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import type { Usage } from '../../schemas/usage'
import { currentUser } from '../../services/identity/me'
import { serviceStatus } from '../../services/operations/status'
import { getPolicy } from '../../services/policy/policy'
import { usageOf } from '../../services/usage/usage'
import { Flash, Time, type FlashMessage } from '../../views/components'
import { Layout, type PageContext } from '../../views/layout'
import { formatJst } from '../../services/operations/calendar'
import { consoleSession, html, type ConsoleEnv } from './kit/page'
import { passwordExpiry } from './kit/password-expiry'
import { bytes } from './kit/format'
import { lastCompleteBackup } from '../../services/backup/catalogue'
import { VerifyResult } from '../../views/backups'

type Status = Awaited<ReturnType<typeof serviceStatus>>

function Measure({ page, label, m, format = (n: number) => n.toLocaleString('en-US') }: { page: PageContext; label: string; m: { used: number; limit: number }; format?: (n: number) => string }) {
  const { t } = page
  return (
    <div class="card">
      <h3>{label}</h3>
      <p class="big">
        {format(m.used)} / {m.limit > 0 ? format(m.limit) : t('dashboard.unlimited')}
      </p>
      {m.limit > 0 ? <meter min={0} max={m.limit} value={Math.min(m.used, m.limit)} aria-label={label} /> : null}
    </div>
  )
}

function UsageCards({ page, usage }: { page: PageContext; usage: Usage }) {
  const { t } = page
  return (
    <section aria-labelledby="usage">
      <h2 id="usage">{t('dashboard.usage')}</h2>
      <p>
        {t('dashboard.plan')}: <strong>{usage.plan}</strong> · {t('dashboard.month')}: {usage.month}
      </p>
      <div class="cards">
        <Measure page={page} label={t('dashboard.seats')} m={usage.seats} />
        <Measure page={page} label={t('dashboard.storage')} m={usage.storage_bytes} format={bytes} />
        <Measure page={page} label={t('dashboard.requestsMonth')} m={usage.requests.month} />
        <Measure page={page} label={t('dashboard.requestsMinute')} m={usage.requests.minute} />
        <Measure page={page} label={t('dashboard.sessions')} m={usage.sessions} />
      </div>
    </section>
  )
}

function Notices({ page, status }: { page: PageContext; status: Status }) {
  const { t } = page
  const items: FlashMessage[] = []
  if (status.maintenance.active && status.maintenance.ends_at) items.push({ kind: 'warn', text: t('dashboard.maintenanceNow', { until: formatJst(status.maintenance.ends_at) }) })
  for (const i of status.open_incidents) items.push({ kind: 'error', text: t('dashboard.incident', { title: i.title, since: formatJst(i.opened_at) }) })
  for (const w of status.upcoming_windows) items.push({ kind: 'warn', text: t('dashboard.upcoming', { from: formatJst(w.starts_at), to: formatJst(w.ends_at) }) + (w.message ? ` ${w.message}` : '') })
  return (
    <section aria-labelledby="notices">
      <h2 id="notices">{t('dashboard.notices')}</h2>
      {items.length ? <Flash flash={items} /> : <p>{t('dashboard.noNotices')}</p>}
      {status.announcements.map((a) => (
        <article class="card">
          <h3>{a.subject}</h3>
          <p>
            <Time iso={a.effective_at} />
          </p>
          <p>{a.body}</p>
        </article>
      ))}
    </section>
  )
}

type LastBackup = Awaited<ReturnType<typeof lastCompleteBackup>>

/** The newest complete generation and its verification (GET /api/v1/backups' catalogue). */
function LastBackupCard({ page, backup }: { page: PageContext; backup: LastBackup }) {
  const { t } = page
  return (
    <section aria-labelledby="last-backup">
      <h2 id="last-backup">{t('dashboard.lastBackup')}</h2>
      {backup ? (
        <div class="card" data-testid="last-backup">
          <p>{t('dashboard.backupAt', { date: backup.jst_date, at: backup.completed_at ? formatJst(backup.completed_at) : '–' })}</p>
          <p>
            {backup.verified_at ? (
              <>
                {t('ops.backups.verifyResult')}
                {': '}
                <VerifyResult page={page} backup={backup} /> <Time iso={backup.verified_at} />
              </>
            ) : (
              t('dashboard.backupNotVerified')
            )}
          </p>
          <p>
            <a href="/console/backups">{t('dashboard.allBackups')}</a>
          </p>
        </div>
      ) : (
        <p>{t('dashboard.noBackup')}</p>
      )}
    </section>
  )
}

function ExportCard({ page }: { page: PageContext }) {
  const { t } = page
  return (
    <section aria-labelledby="export">
      <h2 id="export">{t('dashboard.export')}</h2>
      <p class="hint">{t('dashboard.exportHint')}</p>
      <p>
        <a class="button" href="/console/export" download>
          {t('dashboard.exportLink')}
        </a>
      </p>
    </section>
  )
}

export const dashboardPages = new Hono<ConsoleEnv>({ strict: true })

dashboardPages.get('/console', consoleSession('tenant'), async (c) => {
  const db = database(c.env)
  const principal = c.var.principal
  const admin = principal.role === 'admin'
  const [status, usage, user, policy, backup] = await Promise.all([
    serviceStatus(c.env, db),
    admin ? usageOf(c.env, db, principal.tenantId!) : Promise.resolve(null),
    currentUser(db, principal),
    getPolicy(db, principal.tenantId!),
    admin ? lastCompleteBackup(db, principal.tenantId!) : Promise.resolve(undefined),
  ])
  const page = c.var.page
  const expiry = passwordExpiry(user, policy)
  return html(
    c,
    <Layout page={page} title={page.t('dashboard.title')}>
      {expiry.warn ? <Flash flash={{ kind: 'warn', text: page.t('password.expiresSoon', { date: formatJst(expiry.at) }) }} /> : null}
      {c.req.query('done') === 'password' ? <Flash flash={{ kind: 'ok', text: page.t('password.changed') }} /> : null}
      <Notices page={page} status={status} />
      {usage ? <UsageCards page={page} usage={usage} /> : null}
      {backup !== undefined ? <LastBackupCard page={page} backup={backup} /> : null}
      {principal.permissions.includes('export') ? <ExportCard page={page} /> : null}
    </Layout>,
  )
})
