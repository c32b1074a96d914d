import { and, desc, eq, gte, lt, or, type SQL } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { auditEvents } from '../../db/schema'
import {
  auditChainFor,
  type AppendOptions,
  type AppendResult as ChainAppendResult,
  type ChainState,
  type SqlWrite,
  type VerifyOptions,
} from '../../durable/audit-chain'
import { CSV_BOM, csvRow } from '../../lib/csv'
import { decodeCursor, encodeCursor, page } from '../../lib/cursor'
import { ID_PATTERN } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { AUDIT_ACTIONS, type AuditAction, type AuditCategory, type AuditEvent, type AuditFilter, type ChainVerification } from '../../schemas/audit'

export type { AuditAction, RequestMeta }

export type AuditActor = { type: 'user' | 'operator' | 'system' | 'anonymous'; id: string | null }

/** A signed-in tenant user acting on their tenant's data. */
export type TenantCaller = { tenantId: string; actor: AuditActor }

export type AuditEntry = {
  /** The tenant the event belongs to; null puts it on the platform chain. */
  tenantId: string | null
  actor: AuditActor
  /** One of AUDIT_ACTIONS, which also decides the event's category. */
  action: AuditAction
  target?: { type: string; id: string | null }
  outcome: 'success' | 'failure' | 'denied'
  details?: Record<string, unknown>
}

/** What audit() answers: a broken chain is thrown as a Problem, never returned. */
export type AppendResult = Exclude<ChainAppendResult, { reason: 'chain-broken' }>

export const PLATFORM_CHAIN = 'platform'

/**
 * Appends one event to its chain, committing `writes` (the change it records)
 * in the same D1 transaction. With `guard`, nothing at all is committed when
 * that write touched no row, and the result says so. The event's category
 * comes from AUDIT_ACTIONS. While the chain refuses appends (D1 holds events
 * it never committed), nothing is committed and 503 `audit-chain-broken` is
 * thrown: a change that cannot be recorded is not made.
 */
export async function audit(
  env: Env,
  meta: RequestMeta,
  entry: AuditEntry,
  writes: SqlWrite[] = [],
  options: AppendOptions = {},
): Promise<AppendResult> {
  const chain = entry.tenantId ?? PLATFORM_CHAIN
  const result = await auditChainFor(env, chain).append(
    chain,
    {
      tenant_id: entry.tenantId,
      actor_type: entry.actor.type,
      actor_id: entry.actor.id,
      action: entry.action,
      category: AUDIT_ACTIONS[entry.action],
      target_type: entry.target?.type ?? null,
      target_id: entry.target?.id ?? null,
      request_id: meta.requestId,
      // Jobs and the dev seed have no caller: the ID they pass is already the service's own.
      service_request_id: meta.serviceRequestId ?? meta.requestId,
      ip: meta.ip,
      user_agent: meta.userAgent,
      outcome: entry.outcome,
      details: JSON.stringify(entry.details ?? {}),
    },
    writes,
    options,
  )
  if (!result.ok && result.reason === 'chain-broken') throw Problem.auditChainBroken()
  return result as AppendResult
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
    category: row.category as AuditCategory,
    target_type: row.targetType,
    target_id: row.targetId,
    request_id: row.requestId,
    service_request_id: row.serviceRequestId,
    ip: row.ip,
    user_agent: row.userAgent,
    outcome: row.outcome as AuditEvent['outcome'],
    details: JSON.parse(row.details),
    prev_hash: row.prevHash,
    hash: row.hash,
    hash_alg: row.hashAlg as AuditEvent['hash_alg'],
  }
}

type AuditScope = { tenantId: string } | { allTenants: true }

/** The WHERE of a search: scope, filter, and the page's lower bound (`before`, an event id). */
function searchWhere(scope: AuditScope, filter: AuditFilter & { tenant_id?: string | undefined }, before: string | undefined) {
  // An empty or inverted range is a mistake, not a question with no answer.
  if (filter.since && filter.until && Date.parse(filter.since) >= Date.parse(filter.until)) {
    throw Problem.validation([{ path: 'query.until', message: 'Must be later than since.' }])
  }
  const where: SQL[] = []
  if ('tenantId' in scope) where.push(eq(auditEvents.tenantId, scope.tenantId))
  else if (filter.tenant_id) where.push(eq(auditEvents.tenantId, filter.tenant_id))
  if (filter.actor) where.push(eq(auditEvents.actorId, filter.actor))
  if (filter.action) where.push(eq(auditEvents.action, filter.action))
  if (filter.target) where.push(eq(auditEvents.targetId, filter.target))
  // The caller chooses request_id (its X-Request-Id), so the service's own ID is searchable too.
  if (filter.request_id) {
    where.push(or(eq(auditEvents.requestId, filter.request_id), eq(auditEvents.serviceRequestId, filter.request_id))!)
  }
  if (filter.category) where.push(eq(auditEvents.category, filter.category))
  if (filter.since) where.push(gte(auditEvents.at, new Date(filter.since).toISOString()))
  if (filter.until) where.push(lt(auditEvents.at, new Date(filter.until).toISOString()))
  if (before) where.push(lt(auditEvents.id, before))
  return where
}

/**
 * Searches audit events, newest first. `tenantId` scopes to one tenant;
 * `allTenants` (operators only) searches every chain.
 */
export async function searchAudit(
  db: Database,
  scope: AuditScope,
  filter: AuditFilter & { tenant_id?: string | undefined },
  limit: number,
  cursor: string | undefined,
) {
  const rows = await db
    .select()
    .from(auditEvents)
    .where(and(...searchWhere(scope, filter, decodeCursor(cursor, ID_PATTERN))))
    .orderBy(desc(auditEvents.id))
    .limit(limit + 1)
  return page(rows.map(toAuditEvent), limit, (e) => e.id)
}

/**
 * Checks a chain against the head its sequencer anchored (see
 * AuditChain.verify): only what is new since the last verified checkpoint,
 * or everything with `full`. A walk too long for one call answers
 * `complete: false` and goes on at the next call.
 */
export function verifyAuditChain(env: Env, chain: string, options: VerifyOptions = {}): Promise<ChainVerification> {
  return auditChainFor(env, chain).verify(chain, options)
}

/**
 * A chain's anchored head and last verified checkpoint, without checking
 * anything: one call to its sequencer, which reads only its own storage.
 */
export function auditChainState(env: Env, chain: string): Promise<ChainState> {
  return auditChainFor(env, chain).state(chain)
}

/**
 * Termination (DM-7): erases the chain sequencer's own storage (anchored
 * head, keying switch-over, checkpoints), once its events are gone from D1.
 */
export function eraseAuditChainState(env: Env, chain: string): Promise<void> {
  return auditChainFor(env, chain).eraseAll()
}

const EXPORT_COLUMNS = [
  'id', 'at', 'tenant_id', 'actor_type', 'actor_id', 'action', 'category', 'target_type', 'target_id',
  'request_id', 'ip', 'user_agent', 'outcome', 'details', 'seq', 'prev_hash', 'hash',
  // Added later, so at the end: spreadsheets and scripts that read by position keep working.
  'service_request_id', 'hash_alg',
] as const

export type ExportLimits = {
  /** Events per D1 query. Default 500. */
  pageSize?: number
  /**
   * Pages one response may read (D1 allows 1,000 queries per invocation).
   * Default 400: 200,000 events per response.
   */
  maxPages?: number
}

/**
 * The limits exportAudit() uses unless told otherwise. A module-level object
 * so a test can reach the per-response limit through HTTP with a few events.
 */
export const AUDIT_EXPORT_LIMITS: Required<ExportLimits> = { pageSize: 500, maxPages: 400 }

/** One response of an export: its body, and where the next response starts (null: this one ends the trail). */
export type AuditExport = { body: ReadableStream<Uint8Array>; nextCursor: string | null }

/**
 * The tenant's audit trail as a download (GE-5): every event matching the
 * filter, newest first, as NDJSON or as CSV for spreadsheets. The body is
 * streamed page by page, so a long trail never sits in memory at once. One
 * response holds at most `pageSize × maxPages` events; where it stops is
 * fixed before the first byte, so the caller learns from `nextCursor` (sent
 * as a header) that there is more, instead of a body that just ends. A bad
 * `cursor` is refused (422) before anything happens.
 */
export async function exportAudit(
  db: Database,
  tenantId: string,
  filter: AuditFilter,
  format: 'ndjson' | 'csv',
  cursor?: string,
  { pageSize = AUDIT_EXPORT_LIMITS.pageSize, maxPages = AUDIT_EXPORT_LIMITS.maxPages }: ExportLimits = {},
): Promise<AuditExport> {
  const scope = { tenantId }
  const from = decodeCursor(cursor, ID_PATTERN)
  // The oldest event this response may hold, and whether an older one remains: one query, before streaming.
  const max = pageSize * maxPages
  const edge = await db
    .select({ id: auditEvents.id })
    .from(auditEvents)
    .where(and(...searchWhere(scope, filter, from)))
    .orderBy(desc(auditEvents.id))
    .limit(2)
    .offset(max - 1)
  const oldest = edge[0]?.id ?? null
  const more = edge.length === 2
  const encoder = new TextEncoder()
  let before = from
  let started = false
  // highWaterMark 0: nothing is read until the client reads, after the caller has recorded the export (which belongs in it).
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!started) {
          started = true
          if (format === 'csv') controller.enqueue(encoder.encode(CSV_BOM + csvRow([...EXPORT_COLUMNS])))
        }
        const where = searchWhere(scope, filter, before)
        if (oldest) where.push(gte(auditEvents.id, oldest))
        const rows = await db.select().from(auditEvents).where(and(...where)).orderBy(desc(auditEvents.id)).limit(pageSize)
        const text = rows
          .map(toAuditEvent)
          .map((e) => (format === 'csv' ? csvRow(EXPORT_COLUMNS.map((c) => e[c])) : `${JSON.stringify(e)}\n`))
          .join('')
        if (text) controller.enqueue(encoder.encode(text))
        if (rows.length < pageSize || rows.at(-1)!.id === oldest) controller.close()
        else before = rows.at(-1)!.id
      },
    },
    { highWaterMark: 0 },
  )
  return { body, nextCursor: more ? encodeCursor(oldest!) : null }
}
