/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import { operatorAuditView } from '../../../services/audit/operator-audit'
import { AuditFilters, AuditTable, type AuditEvent } from '../../../views/audit'
import { Field, Flash, Pager, type FlashMessage } from '../../../views/components'
import { Layout } from '../../../views/layout'
import { auditFilterOf, rawAuditFilter } from '../kit/audit-filter'
import { consoleSession, html, problemFlash, type ConsoleEnv } from '../kit/page'
import { invalidFormProblem } from '../kit/validate'
import { AuditTenantFilterSchema as TenantFilter } from '../../ops-audit/ops-audit.routes'

const PAGE_SIZE = 50

export const opsAuditPages = new Hono<ConsoleEnv>({ strict: true })

/** Every chain, with the tenant's own people's details withheld unless it granted support access (the API's one view). */
opsAuditPages.get('/ops/console/audit', consoleSession('ops'), async (c) => {
  const page = c.var.page
  const { t } = page
  const cursor = c.req.query('cursor')
  let flash: FlashMessage | null = null
  let rows: AuditEvent[] = []
  let next: string | null = null
  const raw = rawAuditFilter(c, ['tenant_id'])
  let status = 200
  try {
    const { filter } = auditFilterOf(c)
    const tenant = TenantFilter.safeParse(raw.tenant_id)
    if (!tenant.success) throw invalidFormProblem(tenant.error)
    const found = await operatorAuditView(database(c.env), { ...filter, ...(tenant.data ? { tenant_id: tenant.data } : {}) }, PAGE_SIZE, cursor)
    rows = found.items
    next = found.next_cursor
  } catch (error) {
    flash = problemFlash(t, error)
    status = 422
  }
  const params = new URLSearchParams(raw)
  return html(
    c,
    <Layout page={page} title={t('ops.audit.title')}>
      <Flash flash={flash} />
      <AuditFilters page={page} action="/ops/console/audit" raw={raw} extra={<Field label={t('ops.audit.tenantId')} name="tenant_id" value={raw.tenant_id} />} />
      <AuditTable page={page} rows={rows} withTenant />
      <Pager t={t} base="/ops/console/audit" params={params} next={next} hasCursor={!!cursor} />
    </Layout>,
    status,
  )
})
