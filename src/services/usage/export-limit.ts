import { and, asc, count, eq, gte } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { auditEvents } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { Problem } from '../../lib/problem'
import type { AuditAction } from '../audit/audit'

/** Exports of one kind (the audit trail, the ledger CSV) a tenant may make per hour: each reads the whole trail or every account. */
export const EXPORTS_PER_HOUR = 10
const HOUR_MS = 3_600_000

export type ExportKind = Extract<AuditAction, 'audit.export' | 'ledger.export' | 'data.export'>

/** How each kind is named in its 429: the refusal's wording and its RateLimit policy name. */
const KIND_NAMES: Record<ExportKind, { what: string; policy: string }> = {
  'audit.export': { what: 'audit exports', policy: 'audit-export' },
  'ledger.export': { what: 'ledger downloads', policy: 'ledger-export' },
  'data.export': { what: 'data exports', policy: 'data-export' },
}

/**
 * The export frequency limit, as a guarded write for the export's own audit
 * append (`audit(..., [exportAllowance(...)], { guard: 0 })`): it changes
 * one row (rewriting a value unchanged) only while the tenant made fewer
 * than EXPORTS_PER_HOUR exports of this kind in the past hour. The audit
 * events are the count, and the tenant's audit chain serialises its
 * appends, so two racing exports cannot both take the last one.
 */
export function exportAllowance(tenantId: string, kind: ExportKind, now = Date.now()): SqlWrite {
  return {
    sql: `UPDATE tenants SET updated_at = updated_at WHERE id = ?
            AND (SELECT count(*) FROM audit_events WHERE tenant_id = ? AND action = ? AND at >= ?) < ?`,
    params: [tenantId, tenantId, kind, new Date(now - HOUR_MS).toISOString(), EXPORTS_PER_HOUR],
  }
}

/**
 * Refuses (429) an export over the hourly limit before any of its work: one
 * indexed count. Only a cheap first look; exportAllowance() in the export's
 * audit append is what makes the limit exact.
 */
export async function assertExportAllowed(db: Database, tenantId: string, kind: ExportKind, now = Date.now()): Promise<void> {
  const made = await db
    .select({ n: count() })
    .from(auditEvents)
    .where(and(eq(auditEvents.tenantId, tenantId), eq(auditEvents.action, kind), gte(auditEvents.at, new Date(now - HOUR_MS).toISOString())))
    .get()
  if ((made?.n ?? 0) >= EXPORTS_PER_HOUR) throw await exportLimited(db, tenantId, kind, now)
}

/** The 429 for an export over the hourly limit: Retry-After until the oldest export of the hour leaves it. */
export async function exportLimited(db: Database, tenantId: string, kind: ExportKind, now = Date.now()): Promise<Problem> {
  const oldest = await db
    .select({ at: auditEvents.at })
    .from(auditEvents)
    .where(and(eq(auditEvents.tenantId, tenantId), eq(auditEvents.action, kind), gte(auditEvents.at, new Date(now - HOUR_MS).toISOString())))
    .orderBy(asc(auditEvents.at))
    .limit(1)
    .get()
  const retry = oldest ? (Date.parse(oldest.at) + HOUR_MS - now) / 1000 : 60
  const { what, policy } = KIND_NAMES[kind]
  return Problem.tooManyRequests(
    retry,
    `At most ${EXPORTS_PER_HOUR} ${what} per hour per organisation; try again in ${Math.max(1, Math.ceil(retry))} seconds.`,
    [{ name: policy, quota: EXPORTS_PER_HOUR, windowSeconds: 3600, remaining: 0, resetSeconds: retry }],
  )
}
