import { database } from '../../db/client'
import { auditExtraction } from '../../services/alerts/detectors'
import { exportAudit, searchAudit, verifyAuditChain } from '../../services/audit/audit'
import { assertExportAllowed, exportAllowance, exportLimited } from '../../services/usage/export-limit'
import { actorOf, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
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
  const tenantId = c.var.principal.tenantId!
  await assertExportAllowed(database(c.env), tenantId, 'audit.export')
  // Planned before the event is written, so a bad cursor is refused with nothing recorded.
  const part = await exportAudit(database(c.env), tenantId, filter, format, cursor)
  const recorded = await auditExtraction(
    c.env,
    requestMeta(c),
    {
      tenantId,
      actor: actorOf(c),
      action: 'audit.export',
      target: { type: 'tenant', id: tenantId },
      outcome: 'success',
      details: { format, filter, ...(cursor ? { cursor } : {}) },
    },
    // At most EXPORTS_PER_HOUR exports (each part of a long one counts) per tenant and hour: 429 beyond, nothing recorded.
    { guards: [exportAllowance(tenantId, 'audit.export')] },
  )
  if (!recorded.ok) throw await exportLimited(database(c.env), tenantId, 'audit.export')
  const csv = format === 'csv'
  const headers: Record<string, string> = {
    'Content-Type': csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'Content-Disposition': `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.${csv ? 'csv' : 'ndjson'}"`,
    'Cache-Control': 'no-store',
  }
  if (part.nextCursor) {
    const next = new URL(c.req.url)
    next.searchParams.set('cursor', part.nextCursor)
    headers['X-Next-Cursor'] = part.nextCursor
    headers.Link = `<${next.pathname}${next.search}>; rel="next"`
  }
  return c.body(part.body, 200, headers)
}
