import { database } from '../../db/client'
import { audit, exportAudit, searchAudit, verifyAuditChain } from '../../services/audit/audit'
import { actorOf, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { ExportRoute, ListRoute, VerifyRoute } from './audit.routes'

export const list: AppRouteHandler<ListRoute> = async (c) => {
  const { limit, cursor, ...filter } = c.req.valid('query')
  const tenantId = c.var.principal.tenantId!
  return c.json(await searchAudit(database(c.env), { tenantId }, filter, limit, cursor), 200)
}

export const verify: AppRouteHandler<VerifyRoute> = async (c) =>
  c.json(await verifyAuditChain(c.env, c.var.principal.tenantId!), 200)

export const exportAll: AppRouteHandler<ExportRoute> = async (c) => {
  const { format, ...filter } = c.req.valid('query')
  const tenantId = c.var.principal.tenantId!
  await audit(c.env, requestMeta(c), {
    tenantId,
    actor: actorOf(c),
    action: 'audit.export',
    target: { type: 'tenant', id: tenantId },
    outcome: 'success',
    details: { format, filter },
  })
  const csv = format === 'csv'
  return c.body(exportAudit(database(c.env), tenantId, filter, format), 200, {
    'Content-Type': csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'Content-Disposition': `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.${csv ? 'csv' : 'ndjson'}"`,
    'Cache-Control': 'no-store',
  })
}
