/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import { Problem } from '../../../lib/problem'
import type { TenantRecord } from '../../../schemas/records'
import { listFiles, toFile } from '../../../services/data/files'
import { listRecords } from '../../../services/data/records'
import { recordSupportRead } from '../../../services/tenancy/support'
import { getTenant } from '../../../services/tenancy/tenants'
import { Flash, Pager, Table, Time } from '../../../views/components'
import { Layout } from '../../../views/layout'
import { actorOf, requestMeta } from '../../context'
import { bytes } from '../kit/format'
import { consoleSession, html, type ConsoleContext, type ConsoleEnv } from '../kit/page'
import { listQuery } from '../kit/validate'

const signedIn = consoleSession('ops')
const PREVIEW_CHARS = 160

type What = 'records' | 'files'
type SupportFile = ReturnType<typeof toFile>

function preview(data: Record<string, unknown>) {
  const json = JSON.stringify(data)
  return json.length > PREVIEW_CHARS ? `${json.slice(0, PREVIEW_CHARS)}…` : json
}

/**
 * The support view of /ops/v1/tenants/{id}/records and /files: the same
 * guard (recordSupportRead audits every read, and every refusal), then the
 * same list service. Without a grant the refusal is its own page, 403,
 * saying what the tenant can do about it.
 */
async function supportPage(c: ConsoleContext, what: What) {
  const page = c.var.page
  const { t } = page
  const db = database(c.env)
  const tenant = await getTenant(db, c.req.param('id')!)
  const query = listQuery(c)
  const title = `${t(what === 'records' ? 'ops.support.records' : 'ops.support.files')}: ${tenant.slug}`
  const back = `/ops/console/tenants/${tenant.id}`
  try {
    await recordSupportRead(c.env, db, tenant.id, what, actorOf(c as never), requestMeta(c))
  } catch (error) {
    if (!(error instanceof Problem) || error.type !== 'support-access-required') throw error
    return html(
      c,
      <Layout page={page} title={title}>
        <Flash flash={{ kind: 'error', text: t('ops.support.refused') }} />
        <p>
          <a href={back}>{t('common.back')}</a>
        </p>
      </Layout>,
      403,
    )
  }
  const base = `${back}/${what}`
  const pager = (next: string | null) => <Pager t={t} base={base} params={new URLSearchParams()} next={next} hasCursor={!!query.cursor} />
  let body
  if (what === 'records') {
    const list = await listRecords(db, tenant.id, query)
    body = (
      <>
        <Table<TenantRecord>
          caption={t('ops.support.records')}
          empty={t('common.none')}
          rows={list.items}
          columns={[
            { label: t('records.id'), cell: (r) => <span class="mono">{r.id}</span> },
            { label: t('records.collection'), cell: (r) => r.collection, nowrap: true },
            { label: t('records.data'), cell: (r) => <code>{preview(r.data)}</code> },
            { label: t('records.updated'), cell: (r) => <Time iso={r.updated_at} />, nowrap: true },
          ]}
        />
        {pager(list.next_cursor)}
      </>
    )
  } else {
    const list = await listFiles(db, tenant.id, query.limit, query.cursor)
    body = (
      <>
        <Table<SupportFile>
          caption={t('ops.support.files')}
          empty={t('common.none')}
          rows={list.items}
          columns={[
            { label: t('files.name'), cell: (f) => f.name },
            { label: t('files.type'), cell: (f) => f.content_type, nowrap: true },
            { label: t('files.size'), cell: (f) => bytes(f.size_bytes), num: true, nowrap: true },
            { label: t('files.sha256'), cell: (f) => <span class="mono">{f.sha256}</span> },
            { label: t('files.uploaded'), cell: (f) => <Time iso={f.created_at} />, nowrap: true },
          ]}
        />
        {pager(list.next_cursor)}
      </>
    )
  }
  return html(
    c,
    <Layout page={page} title={title}>
      <p class="hint">{t('ops.support.audited')}</p>
      {body}
      <p>
        <a href={back}>{t('common.back')}</a>
      </p>
    </Layout>,
  )
}

export const supportPages = new Hono<ConsoleEnv>({ strict: true })

supportPages.get('/ops/console/tenants/:id/records', signedIn, (c) => supportPage(c, 'records'))
supportPages.get('/ops/console/tenants/:id/files', signedIn, (c) => supportPage(c, 'files'))
