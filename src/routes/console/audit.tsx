/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { searchAudit } from '../../services/audit/audit'
import { AuditFilters, AuditTable, type AuditEvent } from '../../views/audit'
import { Flash, Pager, type FlashMessage } from '../../views/components'
import { Layout } from '../../views/layout'
import { auditExportPart } from '../audit/audit.export'
import { actorOf, requestMeta } from '../context'
import { auditFilterOf, rawAuditFilter } from './kit/audit-filter'
import { consoleSession, html, problemFlash, type ConsoleEnv } from './kit/page'

const PAGE_SIZE = 50

const access = consoleSession('tenant', { permission: 'audit:read' })

export const auditPages = new Hono<ConsoleEnv>({ strict: true })

auditPages.get('/console/audit', access, async (c) => {
  const page = c.var.page
  const { t } = page
  const cursor = c.req.query('cursor')
  let flash: FlashMessage | null = null
  let rows: AuditEvent[] = []
  let next: string | null = null
  let raw = rawAuditFilter(c)
  let status = 200
  try {
    const parsed = auditFilterOf(c)
    raw = parsed.raw
    const found = await searchAudit(database(c.env), { tenantId: c.var.principal.tenantId! }, parsed.filter, PAGE_SIZE, cursor)
    rows = found.items
    next = found.next_cursor
  } catch (error) {
    flash = problemFlash(t, error)
    status = 422
  }
  const params = new URLSearchParams(raw)
  return html(
    c,
    <Layout page={page} title={t('audit.title')}>
      <Flash flash={flash} />
      <AuditFilters page={page} action="/console/audit" raw={raw} />
      <p class="actions">
        <a class="button secondary" href={`/console/audit/export${params.size ? `?${params}` : ''}`} download>
          {t('audit.export')}
        </a>
      </p>
      <AuditTable page={page} rows={rows} />
      <Pager t={t} base="/console/audit" params={params} next={next} hasCursor={!!cursor} />
    </Layout>,
    status,
  )
})

/** The CSV export of what the filter shows: the API's export, a download that can never render as a page here. */
auditPages.get('/console/audit/export', access, async (c) => {
  const { filter } = auditFilterOf(c)
  const caller = { tenantId: c.var.principal.tenantId!, actor: actorOf(c as never) }
  const part = await auditExportPart(c.env, requestMeta(c), c.req.url, caller, filter, 'csv', c.req.query('cursor'))
  return c.body(part.body, 200, { ...part.headers, 'Content-Security-Policy': 'sandbox', 'X-Content-Type-Options': 'nosniff' })
})
