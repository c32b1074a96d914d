import { database } from '../../db/client'
import { searchAudit, verifyAuditChain } from '../../services/audit/audit'
import { actorOf, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import { auditExportPart } from './audit.export'
import type { ExportRoute, ListRoute, VerifyRoute } from './audit.routes'

export const list: AppRouteHandler<ListRoute> = async (c) => {
  const { limit, cursor, ...filter } = c.req.valid('query')
  const tenantId = c.var.principal.tenantId!
  return c.json(await searchAudit(database(c.env), { tenantId }, filter, limit, cursor), 200)
}

export const verify: AppRouteHandler<VerifyRoute> = async (c) =>
  c.json(await verifyAuditChain(c.env, c.var.principal.tenantId!, { full: c.req.valid('query').full === 'true' }), 200)

export const exportAll: AppRouteHandler<ExportRoute> = async (c) => {
  const { format, cursor, ...filter } = c.req.valid('query')
  const part = await auditExportPart(c.env, requestMeta(c), c.req.url, { tenantId: c.var.principal.tenantId!, actor: actorOf(c) }, filter, format, cursor)
  return c.body(part.body, 200, part.headers)
}
