import { and, desc, eq, gte, lt, type SQL } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { auditEvents } from '../../db/schema'
import { auditChainFor, type AppendOptions, type AppendResult, type SqlWrite } from '../../durable/audit-chain'
import { GENESIS_HASH, auditEventHash, type StoredAuditEvent } from '../../lib/audit-hash'
import { CSV_BOM, csvRow } from '../../lib/csv'
import { decodeCursor, page } from '../../lib/cursor'
import { ID_PATTERN } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import type { AuditEvent, AuditFilter, ChainVerification } from '../../schemas/audit'
import { AUDIT_CATEGORIES } from '../../schemas/audit'

export type { RequestMeta }

export type AuditActor = { type: 'user' | 'operator' | 'system' | 'anonymous'; id: string | null }

/** A signed-in tenant user acting on their tenant's data. */
export type TenantCaller = { tenantId: string; actor: AuditActor }

export type AuditEntry = {
  /** The tenant the event belongs to; null puts it on the platform chain. */
  tenantId: string | null
  actor: AuditActor
  action: string
  target?: { type: string; id: string | null }
  outcome: 'success' | 'failure' | 'denied'
  details?: Record<string, unknown>
}

type Category = (typeof AUDIT_CATEGORIES)[number]

/** Category of each action family; data extractions are tagged one by one. */
function categoryOf(action: string): Category {
  if (action.startsWith('auth.') || action.startsWith('session.') || action.startsWith('mfa.')) return 'authentication'
  if (action.startsWith('record.')) return 'data_change'
  if (action.endsWith('.download') || action.endsWith('.export')) return 'data_extraction'
  if (action.startsWith('security.')) return 'security'
  return 'administration'
}

export const PLATFORM_CHAIN = 'platform'

/**
 * Appends one event to its chain, committing `writes` (the change it records)
 * in the same D1 transaction. With `guard`, nothing at all is committed when
 * that write touched no row, and the result says so.
 */
export async function audit(
  env: Env,
  meta: RequestMeta,
  entry: AuditEntry,
  writes: SqlWrite[] = [],
  options: AppendOptions = {},
): Promise<AppendResult> {
  const chain = entry.tenantId ?? PLATFORM_CHAIN
  return auditChainFor(env, chain).append(
    chain,
    {
      tenant_id: entry.tenantId,
      actor_type: entry.actor.type,
      actor_id: entry.actor.id,
      action: entry.action,
      category: categoryOf(entry.action),
      target_type: entry.target?.type ?? null,
      target_id: entry.target?.id ?? null,
      request_id: meta.requestId,
      ip: meta.ip,
      user_agent: meta.userAgent,
      outcome: entry.outcome,
      details: JSON.stringify(entry.details ?? {}),
    },
    writes,
    options,
  )
}

/**
 * Like audit(), for changes that must happen or not at all: when the guarded
 * write (by default the first) changes no row, nothing is committed and
 * `refused()` is thrown (a vanished target's 404, a failed guard's 409).
 */
export async function auditChange(
  env: Env,
  meta: RequestMeta,
  entry: AuditEntry,
  writes: SqlWrite[],
  refused: () => Problem,
  guard = 0,
) {
  const result = await audit(env, meta, entry, writes, { guard })
  if (!result.ok) throw refused()
  return result
}

export function toAuditEvent(row: typeof auditEvents.$inferSelect): AuditEvent {
  return {
    id: row.id,
    tenant_id: row.tenantId,
    chain: row.chain,
    seq: row.seq,
    at: row.at,
    actor_type: row.actorType,
    actor_id: row.actorId,
    action: row.action,
    category: row.category as Category,
    target_type: row.targetType,
    target_id: row.targetId,
    request_id: row.requestId,
    ip: row.ip,
    user_agent: row.userAgent,
    outcome: row.outcome as AuditEvent['outcome'],
    details: JSON.parse(row.details),
    prev_hash: row.prevHash,
    hash: row.hash,
  }
}

/**
 * Searches audit events, newest first. `tenantId` scopes to one tenant;
 * `undefined` (operators only) searches every chain.
 */
export async function searchAudit(
  db: Database,
  scope: { tenantId: string } | { allTenants: true },
  filter: AuditFilter & { tenant_id?: string | undefined },
  limit: number,
  cursor: string | undefined,
) {
  const after = decodeCursor(cursor, ID_PATTERN)
  const where: SQL[] = []
  if ('tenantId' in scope) where.push(eq(auditEvents.tenantId, scope.tenantId))
  else if (filter.tenant_id) where.push(eq(auditEvents.tenantId, filter.tenant_id))
  if (filter.actor) where.push(eq(auditEvents.actorId, filter.actor))
  if (filter.action) where.push(eq(auditEvents.action, filter.action))
  if (filter.target) where.push(eq(auditEvents.targetId, filter.target))
  if (filter.request_id) where.push(eq(auditEvents.requestId, filter.request_id))
  if (filter.category) where.push(eq(auditEvents.category, filter.category))
  if (filter.since) where.push(gte(auditEvents.at, new Date(filter.since).toISOString()))
  if (filter.until) where.push(lt(auditEvents.at, new Date(filter.until).toISOString()))
  if (after) where.push(lt(auditEvents.id, after))
  const rows = await db
    .select()
    .from(auditEvents)
    .where(and(...where))
    .orderBy(desc(auditEvents.id))
    .limit(limit + 1)
  return page(rows.map(toAuditEvent), limit, (e) => e.id)
}

const VERIFY_PAGE = 500

/**
 * Re-walks a chain from its first event: every hash recomputed, every link
 * and sequence number checked, and the last event compared with the head the
 * sequencer anchored (so a deleted tail shows too). Reports the first break.
 */
export async function verifyAuditChain(env: Env, chain: string): Promise<ChainVerification> {
  const anchored = await auditChainFor(env, chain).currentHead(chain)
  let expectedSeq = 1
  let prevHash = GENESIS_HASH
  let checked = 0
  const fail = (seq: number, reason: string): ChainVerification => ({
    chain,
    ok: false,
    checked,
    head: anchored,
    problem: { seq, reason },
  })
  // Events appended after the anchor was read are newer than this check: leave them for the next one.
  const lastSeq = anchored?.seq ?? Number.MAX_SAFE_INTEGER
  for (;;) {
    const { results } = await env.DB.prepare(
      'SELECT * FROM audit_events WHERE chain = ? AND seq >= ? AND seq <= ? ORDER BY seq LIMIT ?',
    )
      .bind(chain, expectedSeq, lastSeq, VERIFY_PAGE)
      .all<StoredAuditEvent>()
    for (const event of results) {
      if (event.seq !== expectedSeq) return fail(expectedSeq, `event ${expectedSeq} is missing`)
      if (event.prev_hash !== prevHash) return fail(event.seq, 'link to the previous event is broken')
      const { hash, ...rest } = event
      if ((await auditEventHash(rest)) !== hash) return fail(event.seq, 'event content does not match its hash')
      prevHash = hash
      expectedSeq++
      checked++
    }
    if (results.length < VERIFY_PAGE) break
  }
  if (anchored && anchored.seq !== checked) {
    return fail(checked + 1, `the chain ends at event ${checked} but its sequencer committed ${anchored.seq}`)
  }
  if (anchored && anchored.hash !== prevHash) {
    return fail(checked, 'the newest event is not the one its sequencer committed')
  }
  return { chain, ok: true, checked, head: anchored, problem: null }
}

const EXPORT_COLUMNS = [
  'id', 'at', 'tenant_id', 'actor_type', 'actor_id', 'action', 'category', 'target_type', 'target_id',
  'request_id', 'ip', 'user_agent', 'outcome', 'details', 'seq', 'prev_hash', 'hash',
] as const

/**
 * The tenant's audit trail as a download (GE-5): every event matching the
 * filter, newest first, as NDJSON or as CSV for spreadsheets. The body is
 * streamed page by page, so a long trail never sits in memory at once.
 */
export function exportAudit(
  db: Database,
  tenantId: string,
  filter: AuditFilter,
  format: 'ndjson' | 'csv',
  pageSize = 500,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let cursor: string | undefined
  let started = false
  return new ReadableStream({
    async pull(controller) {
      if (!started) {
        started = true
        if (format === 'csv') controller.enqueue(encoder.encode(CSV_BOM + csvRow([...EXPORT_COLUMNS])))
      }
      const found = await searchAudit(db, { tenantId }, filter, pageSize, cursor)
      const text = found.items
        .map((e) => (format === 'csv' ? csvRow(EXPORT_COLUMNS.map((c) => e[c])) : `${JSON.stringify(e)}\n`))
        .join('')
      if (text) controller.enqueue(encoder.encode(text))
      if (found.next_cursor === null) controller.close()
      else cursor = found.next_cursor
    },
  })
}
