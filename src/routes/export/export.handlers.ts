import { database } from '../../db/client'
import { auditExtraction } from '../../services/alerts/detectors'
import { exportPosition, exportTenantData } from '../../services/data/export'
import { assertExportAllowed, exportAllowance, exportLimited } from '../../services/usage/export-limit'
import { actorOf, requestMeta } from '../context'
import type { AppRouteHandler } from '../router'
import type { ExportDataRoute } from './export.routes'

export const exportData: AppRouteHandler<ExportDataRoute> = async (c) => {
  const { cursor } = c.req.valid('query')
  const tenantId = c.var.principal.tenantId!
  const db = database(c.env)
  await assertExportAllowed(db, tenantId, 'data.export')
  // Read before the event is written, so a bad cursor is refused with nothing recorded.
  const start = exportPosition(cursor)
  const recorded = await auditExtraction(
    c.env,
    requestMeta(c),
    {
      tenantId,
      actor: actorOf(c),
      action: 'data.export',
      target: { type: 'tenant', id: tenantId },
      outcome: 'success',
      details: cursor ? { cursor } : {},
    },
    { guards: [exportAllowance(tenantId, 'data.export')] },
  )
  if (!recorded.ok) throw await exportLimited(db, tenantId, 'data.export')
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-ndjson; charset=utf-8',
    'Content-Disposition': `attachment; filename="export-${new Date().toISOString().slice(0, 10)}.ndjson"`,
    'Cache-Control': 'no-store',
  }
  // The route's typing reads `application/x-ndjson` as JSON and would want c.json(); this body is a stream of JSON lines.
  return c.body(exportTenantData(c.env.DB, tenantId, start), 200, headers) as never
}
