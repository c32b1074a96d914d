/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { ListQuerySchema } from '../../schemas/common'
import type { TenantIncident } from '../../schemas/operations'
import { listBackups } from '../../services/backup/catalogue'
import { listTenantIncidents } from '../../services/operations/incidents'
import { BackupTable } from '../../views/backups'
import { Pager, Time } from '../../views/components'
import { Layout, type PageContext } from '../../views/layout'
import { consoleSession, html, type ConsoleContext, type ConsoleEnv } from './kit/page'
import { invalidFormProblem } from './kit/validate'

const PAGE_SIZE = 50
const admin = consoleSession('tenant', { admin: true })

/** The page's paging, through the API's own list query schema. */
function listQuery(c: ConsoleContext) {
  const cursor = c.req.query('cursor')
  const parsed = ListQuerySchema.safeParse({ limit: String(PAGE_SIZE), ...(cursor !== undefined ? { cursor } : {}) })
  if (!parsed.success) throw invalidFormProblem(parsed.error)
  return parsed.data
}

export const tenantBackupPages = new Hono<ConsoleEnv>({ strict: true })

tenantBackupPages.get('/console/backups', admin, async (c) => {
  const page = c.var.page
  const query = listQuery(c)
  const list = await listBackups(database(c.env), { tenantId: c.var.principal.tenantId!, limit: query.limit, cursor: query.cursor })
  // As GET /api/v1/backups: failure reasons are for operators.
  const rows = list.items.map(({ error: _error, ...rest }) => rest)
  return html(
    c,
    <Layout page={page} title={page.t('backups.title')}>
      <p>{page.t('backups.intro')}</p>
      <BackupTable page={page} rows={rows} />
      <Pager t={page.t} base="/console/backups" params={new URLSearchParams(query.cursor ? { cursor: query.cursor } : {})} next={list.next_cursor} hasCursor={!!query.cursor} />
    </Layout>,
  )
})

function IncidentCard({ page, incident }: { page: PageContext; incident: TenantIncident }) {
  const { t } = page
  const open = incident.status === 'investigating'
  return (
    <article class="card incident" aria-labelledby={`h-${incident.id}`}>
      <h3 id={`h-${incident.id}`}>
        {incident.title} <span class={`status ${open ? 'not_met' : 'met'}`}>{t(`ops.incidents.status.${incident.status}`)}</span>
      </h3>
      <dl class="facts">
        <dt>{t('incidents.severity')}</dt>
        <dd>{t(`ops.incidents.severity.${incident.severity}`)}</dd>
        <dt>{t('incidents.openedAt')}</dt>
        <dd>
          <Time iso={incident.opened_at} />
        </dd>
        <dt>{t('incidents.resolvedAt')}</dt>
        <dd>
          <Time iso={incident.resolved_at} />
        </dd>
      </dl>
      <p class="pre">{incident.description}</p>
      {incident.updates.length ? (
        <>
          <h4>{t('incidents.updates')}</h4>
          <ol class="steps">
            {incident.updates.map((u) => (
              <li>
                <Time iso={u.at} /> · {t(`ops.incidents.status.${u.status}`)}: <span class="pre">{u.message}</span>
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </article>
  )
}

tenantBackupPages.get('/console/incidents', admin, async (c) => {
  const page = c.var.page
  const query = listQuery(c)
  const list = await listTenantIncidents(database(c.env), c.var.principal.tenantId!, query)
  return html(
    c,
    <Layout page={page} title={page.t('incidents.title')}>
      {list.items.length ? list.items.map((i) => <IncidentCard page={page} incident={i} />) : <p>{page.t('incidents.none')}</p>}
      <Pager t={page.t} base="/console/incidents" params={new URLSearchParams(query.cursor ? { cursor: query.cursor } : {})} next={list.next_cursor} hasCursor={!!query.cursor} />
    </Layout>,
  )
})
