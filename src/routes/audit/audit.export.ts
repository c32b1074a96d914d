import { database } from '../../db/client'
import type { AuditFilter } from '../../schemas/audit'
import { auditExtraction } from '../../services/alerts/detectors'
import type { AuditActor, RequestMeta } from '../../services/audit/audit'
import { exportAudit } from '../../services/audit/audit'
import { assertExportAllowed, exportAllowance, exportLimited } from '../../services/usage/export-limit'

/**
 * One part of a tenant's audit export, recorded as a data extraction within
 * the hourly export allowance: what GET /api/v1/audit/export and the
 * console's export link both answer, so the two cannot drift apart.
 * `url` is the request's, for the next part's link.
 */
export async function auditExportPart(
  env: Env,
  meta: RequestMeta,
  url: string,
  caller: { tenantId: string; actor: AuditActor },
  filter: AuditFilter,
  format: 'csv' | 'ndjson',
  cursor: string | undefined,
) {
  const { tenantId, actor } = caller
  await assertExportAllowed(database(env), tenantId, 'audit.export')
  // Planned before the event is written, so a bad cursor is refused with nothing recorded.
  const part = await exportAudit(database(env), tenantId, filter, format, cursor)
  const recorded = await auditExtraction(
    env,
    meta,
    {
      tenantId,
      actor,
      action: 'audit.export',
      target: { type: 'tenant', id: tenantId },
      outcome: 'success',
      details: { format, filter, ...(cursor ? { cursor } : {}) },
    },
    // At most EXPORTS_PER_HOUR exports (each part of a long one counts) per tenant and hour: 429 beyond, nothing recorded.
    { guards: [exportAllowance(tenantId, 'audit.export')] },
  )
  if (!recorded.ok) throw await exportLimited(database(env), tenantId, 'audit.export')
  const csv = format === 'csv'
  const headers: Record<string, string> = {
    'Content-Type': csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'Content-Disposition': `attachment; filename="audit-${new Date().toISOString().slice(0, 10)}.${csv ? 'csv' : 'ndjson'}"`,
    'Cache-Control': 'no-store',
  }
  if (part.nextCursor) {
    const next = new URL(url)
    next.searchParams.set('cursor', part.nextCursor)
    headers['X-Next-Cursor'] = part.nextCursor
    headers.Link = `<${next.pathname}${next.search}>; rel="next"`
  }
  return { body: part.body, headers }
}
