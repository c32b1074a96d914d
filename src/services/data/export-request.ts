import type { Database } from '../../db/client'
import type { RequestMeta } from '../../lib/request-meta'
import { auditExtraction } from '../alerts/detectors'
import type { AuditActor } from '../audit/audit'
import { assertExportAllowed, exportAllowance, exportLimited } from '../usage/export-limit'
import { exportPosition, exportTenantData } from './export'

/**
 * One export request (DM-2), for the API and the console alike: the hourly
 * limit checked, the extraction audited (and counted against that limit in
 * the same write), then the NDJSON stream from the cursor's position. A bad
 * cursor is refused before anything is recorded.
 */
export async function startExport(env: Env, db: Database, tenantId: string, actor: AuditActor, meta: RequestMeta, cursor: string | undefined): Promise<ReadableStream> {
  await assertExportAllowed(db, tenantId, 'data.export')
  const start = exportPosition(cursor)
  const recorded = await auditExtraction(
    env,
    meta,
    {
      tenantId,
      actor,
      action: 'data.export',
      target: { type: 'tenant', id: tenantId },
      outcome: 'success',
      details: cursor ? { cursor } : {},
    },
    { guards: [exportAllowance(tenantId, 'data.export')] },
  )
  if (!recorded.ok) throw await exportLimited(db, tenantId, 'data.export')
  return exportTenantData(env.DB, tenantId, start)
}

/** The headers of an export download: an attachment, never stored. */
export function exportHeaders(now = new Date()): Record<string, string> {
  return {
    'Content-Type': 'application/x-ndjson; charset=utf-8',
    'Content-Disposition': `attachment; filename="export-${now.toISOString().slice(0, 10)}.ndjson"`,
    'Cache-Control': 'no-store',
  }
}
