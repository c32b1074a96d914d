/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import { jstDate } from '../../../lib/time'
import { Problem } from '../../../lib/problem'
import { BackupListQuerySchema, BackupRestoreSchema, BackupStartSchema, type BackupRestoredSchema } from '../../../schemas/backups'
import type { z } from '@hono/zod-openapi'
import { findBackup, listBackups, toBackup, verifyBackup } from '../../../services/backup/catalogue'
import { recordRequested, startAllSnapshots, startTenantSnapshot } from '../../../services/backup/fan-out'
import { restoreBackup } from '../../../services/backup/restore'
import { BackupTable, VerifyResult, type BackupRowView } from '../../../views/backups'
import { Field, Flash, Pager, PostForm, Table, Time, type FlashMessage } from '../../../views/components'
import { Layout, type PageContext } from '../../../views/layout'
import { actorOf, requestMeta } from '../../context'
import { consoleSession, html, problemFlash, text, type ConsoleContext, type ConsoleEnv } from '../kit/page'
import { invalidFormProblem } from '../kit/validate'

const PAGE_SIZE = 50
const signedIn = consoleSession('ops')

type Restored = z.infer<typeof BackupRestoredSchema>

/** A refusal of a backup step shown on the page: its title and detail (backup-corrupt names what failed). */
function backupFlash(page: PageContext, error: unknown): FlashMessage {
  if (error instanceof Problem && error.status < 500 && error.status !== 401 && error.type !== 'csrf') {
    return { kind: 'error', text: page.t('ops.backups.failedTitle', { title: error.title }), details: error.detail ? [error.detail] : [] }
  }
  return problemFlash(page.t, error)
}

function RunForm({ page, tenantId }: { page: PageContext; tenantId?: string | undefined }) {
  return (
    <PostForm action="/ops/console/backups/run" csrf={page.viewer!.csrf} class="inline">
      {tenantId ? <input type="hidden" name="tenant_id" value={tenantId} /> : null}
      <button type="submit" class={tenantId ? undefined : 'secondary'}>
        {tenantId ? page.t('ops.backups.runOne') : page.t('ops.backups.runAll')}
      </button>
    </PostForm>
  )
}

async function listPage(c: ConsoleContext, extra: { flash?: FlashMessage | null; tenantId?: string } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const csrf = page.viewer!.csrf
  const raw: Record<string, string> = {}
  const tenantFilter = extra.tenantId ?? c.req.query('tenant_id')
  if (tenantFilter) raw.tenant_id = tenantFilter
  const cursor = extra.tenantId === undefined ? c.req.query('cursor') : undefined
  if (cursor) raw.cursor = cursor
  raw.limit = String(PAGE_SIZE)
  // The API's own query schema: a malformed tenant ID is the same 422.
  const query = BackupListQuerySchema.safeParse(raw)
  if (!query.success) throw invalidFormProblem(query.error)
  const tenantId = query.data.tenant_id
  const list = await listBackups(database(c.env), { tenantId, limit: query.data.limit, cursor: query.data.cursor })
  const params = new URLSearchParams(tenantId ? { tenant_id: tenantId } : {})
  if (cursor) params.set('cursor', cursor)
  return html(
    c,
    <Layout page={page} title={t('ops.backups.title')}>
      <Flash flash={extra.flash} />
      <form method="get" action="/ops/console/backups" class="filters">
        <Field label={t('ops.maint.tenantId')} name="tenant_id" value={tenantId} idPrefix="filter" autocomplete="off" hint={t('ops.maint.tenantIdHint')} />
        <div>
          <button type="submit">{t('ops.backups.show')}</button>
        </div>
      </form>
      <div class="actions">
        {tenantId ? <RunForm page={page} tenantId={tenantId} /> : null}
        <RunForm page={page} />
      </div>
      <BackupTable<BackupRowView>
        page={page}
        rows={list.items}
        extra={[
          ...(tenantId ? [] : [{ label: t('ops.backups.tenant'), cell: (b: BackupRowView) => <a class="mono" href={`/ops/console/backups?tenant_id=${b.tenant_id}`}>{b.tenant_id}</a> }]),
          { label: t('ops.backups.error'), cell: (b: BackupRowView) => b.error ?? '–' },
          {
            label: t('common.actions'),
            nowrap: true,
            cell: (b: BackupRowView) =>
              b.status === 'complete' ? (
                <div class="actions">
                  <PostForm action={`/ops/console/backups/${b.id}/verify`} csrf={csrf} class="inline">
                    <button type="submit" class="secondary">
                      {t('ops.backups.verify')}
                    </button>
                  </PostForm>
                  <a class="button secondary" href={`/ops/console/backups/${b.id}/restore`}>
                    {t('ops.backups.restore')}
                  </a>
                </div>
              ) : (
                '–'
              ),
          },
        ]}
      />
      <Pager t={t} base="/ops/console/backups" params={params} next={list.next_cursor} hasCursor={!!cursor} />
    </Layout>,
    status,
  )
}

export const backupPages = new Hono<ConsoleEnv>({ strict: true })

backupPages.get('/ops/console/backups', signedIn, (c) => listPage(c))

backupPages.post('/ops/console/backups/run', signedIn, async (c) => {
  const tenantId = text(c.var.form, 'tenant_id').trim()
  const page = c.var.page
  try {
    const parsed = BackupStartSchema.safeParse(tenantId ? { tenant_id: tenantId } : {})
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    const one = parsed.data.tenant_id
    const date = jstDate()
    const result = one ? await startTenantSnapshot(c.env, one, date) : { ...(await startAllSnapshots(c.env, date)), instance_ids: [] }
    await recordRequested(c.env, requestMeta(c), actorOf(c as never), result, one ?? null)
    const flash = { kind: 'ok' as const, text: page.t('ops.backups.started', { date: result.jst_date, tenants: result.tenants, started: result.started, already: result.already_started }) }
    return listPage(c, { flash, tenantId: one ?? '' }, 202)
  } catch (error) {
    return listPage(c, { flash: backupFlash(page, error), tenantId: '' }, (error as { status: number }).status)
  }
})

backupPages.post('/ops/console/backups/:id/verify', signedIn, async (c) => {
  const page = c.var.page
  const id = c.req.param('id')
  try {
    const result = await verifyBackup(c.env, id, actorOf(c as never), requestMeta(c))
    const flash: FlashMessage = result.ok
      ? { kind: 'ok', text: page.t('ops.backups.verified', { id }) }
      : { kind: 'error', text: page.t('ops.backups.verifyFailed', { id, reason: result.verify_result ?? '' }) }
    return listPage(c, { flash, tenantId: result.tenant_id })
  } catch (error) {
    return listPage(c, { flash: backupFlash(page, error), tenantId: '' }, (error as { status: number }).status)
  }
})

function BackupFacts({ page, backup }: { page: PageContext; backup: ReturnType<typeof toBackup> }) {
  const { t } = page
  return (
    <dl class="facts">
      <dt>{t('ops.backups.id')}</dt>
      <dd class="mono" data-testid="backup-id">{backup.id}</dd>
      <dt>{t('ops.backups.tenant')}</dt>
      <dd class="mono">{backup.tenant_id}</dd>
      <dt>{t('ops.backups.date')}</dt>
      <dd>{backup.jst_date}</dd>
      <dt>{t('ops.backups.status')}</dt>
      <dd>{t(`ops.backups.status.${backup.status}`)}</dd>
      <dt>{t('ops.backups.completedAt')}</dt>
      <dd>
        <Time iso={backup.completed_at} />
      </dd>
      <dt>{t('ops.backups.verifyResult')}</dt>
      <dd>
        <VerifyResult page={page} backup={backup} /> {backup.verified_at ? <Time iso={backup.verified_at} /> : null}
      </dd>
    </dl>
  )
}

/** Step one: choose in place or a new slug. Nothing is restored from here. */
async function choosePage(c: ConsoleContext, id: string, extra: { flash?: FlashMessage | null; targetSlug?: string } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const backup = toBackup(await findBackup(database(c.env), id))
  return html(
    c,
    <Layout page={page} title={t('ops.backups.restoreTitle')}>
      <Flash flash={extra.flash} />
      <BackupFacts page={page} backup={backup} />
      <h2>{t('ops.backups.inPlace')}</h2>
      <p class="hint">{t('ops.backups.inPlaceHint')}</p>
      <form method="get" action={`/ops/console/backups/${backup.id}/restore/confirm`}>
        <button type="submit" class="secondary">
          {t('ops.backups.next')}
        </button>
      </form>
      <h2>{t('ops.backups.newTenant')}</h2>
      <form method="get" action={`/ops/console/backups/${backup.id}/restore/confirm`} class="stack">
        <Field label={t('ops.backups.targetSlug')} name="target_slug" required value={extra.targetSlug} idPrefix="restore" autocomplete="off" hint={t('ops.tenants.slugHint')} />
        <div>
          <button type="submit" class="secondary">
            {t('ops.backups.next')}
          </button>
        </div>
      </form>
      <p>
        <a href={`/ops/console/backups?tenant_id=${backup.tenant_id}`}>{t('common.back')}</a>
      </p>
    </Layout>,
    status,
  )
}

/** Step two: the same choice repeated, with the backup ID (and a new slug) typed again before anything is written. */
async function confirmPage(c: ConsoleContext, id: string, targetSlug: string, extra: { flash?: FlashMessage | null } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const db = database(c.env)
  const backup = toBackup(await findBackup(db, id))
  const parsed = BackupRestoreSchema.safeParse(targetSlug ? { target_slug: targetSlug } : {})
  if (!parsed.success) return choosePage(c, id, { flash: problemFlash(t, invalidFormProblem(parsed.error)), targetSlug }, 422)
  const slug = (await db.query.tenants.findFirst({ where: (x, { eq }) => eq(x.id, backup.tenant_id), columns: { slug: true } }))?.slug ?? backup.tenant_id
  return html(
    c,
    <Layout page={page} title={t('ops.backups.confirmTitle')} narrow>
      <Flash flash={extra.flash} />
      <Flash
        flash={{
          kind: 'warn',
          text: targetSlug
            ? t('ops.backups.confirmNew', { id: backup.id, date: backup.jst_date, target: targetSlug })
            : t('ops.backups.confirmInPlace', { id: backup.id, date: backup.jst_date, slug }),
        }}
      />
      {targetSlug ? null : <p class="hint">{t('ops.backups.inPlaceHint')}</p>}
      <PostForm action={`/ops/console/backups/${backup.id}/restore`} csrf={page.viewer!.csrf} class="stack">
        {targetSlug ? <input type="hidden" name="target_slug" value={targetSlug} /> : null}
        <Field label={t('ops.backups.confirmField')} name="confirm" required idPrefix="restore" autocomplete="off" />
        {targetSlug ? <Field label={t('ops.backups.confirmTarget')} name="confirm_target" required idPrefix="restore" autocomplete="off" /> : null}
        <div>
          <button type="submit" class="danger">
            {t('ops.backups.doRestore')}
          </button>
        </div>
      </PostForm>
      <p>
        <a href={`/ops/console/backups/${backup.id}/restore`}>{t('common.back')}</a>
      </p>
    </Layout>,
    status,
  )
}

function RestoredPage({ page, result }: { page: PageContext; result: Restored }) {
  const { t } = page
  const rows = Object.entries(result.rows).map(([table, n]) => ({ table, n }))
  return (
    <Layout page={page} title={t('ops.backups.restoreTitle')}>
      <Flash flash={{ kind: 'ok', text: t('ops.backups.restored', { mode: t(`ops.backups.mode.${result.mode}`), slug: result.slug, files: result.files }) }} />
      <dl class="facts">
        <dt>{t('ops.backups.id')}</dt>
        <dd class="mono">{result.backup_id}</dd>
        <dt>{t('ops.backups.tenant')}</dt>
        <dd>
          <a href={`/ops/console/tenants/${result.tenant_id}`}>{result.slug}</a> <span class="mono">({result.tenant_id})</span>
        </dd>
        <dt>{t('ops.backups.safety')}</dt>
        <dd class="mono">{result.safety_backup_id ?? '–'}</dd>
      </dl>
      <Table<{ table: string; n: number }>
        caption={t('ops.backups.rows')}
        empty={t('common.none')}
        rows={rows}
        columns={[
          { label: t('ops.backups.rows'), cell: (r) => <span class="mono">{r.table}</span> },
          { label: t('ops.backups.rowCount'), cell: (r) => r.n.toLocaleString('en-US'), num: true },
        ]}
      />
      <p>
        <a href={`/ops/console/backups?tenant_id=${result.tenant_id}`}>{t('ops.backups.of')}</a>
      </p>
    </Layout>
  )
}

backupPages.get('/ops/console/backups/:id/restore', signedIn, (c) => choosePage(c, c.req.param('id')))

backupPages.get('/ops/console/backups/:id/restore/confirm', signedIn, (c) => confirmPage(c, c.req.param('id'), (c.req.query('target_slug') ?? '').trim()))

backupPages.post('/ops/console/backups/:id/restore', signedIn, async (c) => {
  const page = c.var.page
  const id = c.req.param('id')
  const form = c.var.form
  const targetSlug = text(form, 'target_slug').trim()
  // The confirmation is the console's own step; a mismatch reaches no service and changes nothing.
  if (text(form, 'confirm').trim() !== id || (targetSlug && text(form, 'confirm_target').trim() !== targetSlug)) {
    return confirmPage(c, id, targetSlug, { flash: { kind: 'error', text: page.t('ops.backups.mismatch') } }, 422)
  }
  try {
    const parsed = BackupRestoreSchema.safeParse(targetSlug ? { target_slug: targetSlug } : {})
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    const result = await restoreBackup(c.env, id, parsed.data, actorOf(c as never), requestMeta(c))
    return html(c, <RestoredPage page={page} result={result} />)
  } catch (error) {
    return confirmPage(c, id, targetSlug, { flash: backupFlash(page, error) }, (error as { status: number }).status)
  }
})
