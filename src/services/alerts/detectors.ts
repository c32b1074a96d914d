import { database, type Database } from '../../db/client'
import type { SqlWrite } from '../../durable/audit-chain'
import { describeError } from '../../lib/error-log'
import type { RequestMeta } from '../../lib/request-meta'
import type { Principal } from '../../schemas/principal'
import { audit, type AppendResult, type AuditEntry } from '../audit/audit'
import { countNow, countWrite, countedOf, windowAt, type Counted, type CounterRef } from './counters'
import { networkOf } from './networks'
import { securityAlert, type SecurityAlert } from './security-alerts'

/**
 * The burst detectors (SE-28). Each counts where the request already pays
 * for a write: a download or export rides in its own audit event's
 * transaction, a refused source in its `security.source_refused` event's; a
 * permission failure costs one counter write, on the failure path only.
 * Requests that succeed without an audit event never touch a counter.
 *
 * An alert fires when its key's count reaches the threshold within one fixed
 * window, once per key and window, and reports the count.
 */
export const DETECTORS = {
  /** File downloads, audit exports and ledger CSV exports by one account. */
  extractions: { threshold: 50, windowMinutes: 60 },
  /** 403 answers for a missing permission or role, per session. */
  permissionFailures: { threshold: 20, windowMinutes: 15 },
  /** Requests refused by a tenant's source rules (IP allowlist, client certificates), all its accounts together. */
  sourceRefusals: { threshold: 20, windowMinutes: 15 },
}

type Detector = (typeof DETECTORS)[keyof typeof DETECTORS]

function counterOf(detector: Detector, key: string, tenantId: string | null, now: number): CounterRef {
  return { key, tenantId, window: windowAt(now, detector.windowMinutes) }
}

/** Raises the window's alert when this occurrence's count reached the threshold and no alert fired yet. */
async function alertAtThreshold(
  env: Env,
  db: Database,
  meta: RequestMeta,
  detector: Detector,
  ref: CounterRef,
  counted: Counted,
  alert: Omit<SecurityAlert, 'count' | 'threshold' | 'window' | 'once'>,
) {
  if (counted.count < detector.threshold || counted.fired) return
  try {
    await securityAlert(env, db, meta, {
      ...alert,
      count: counted.count,
      threshold: detector.threshold,
      window: ref.window,
      once: { key: ref.key, windowMinutes: ref.window.minutes },
    })
  } catch (error) {
    // The occurrence itself is committed and answered as usual; the window stays unfired, so the next one raises the alert.
    console.error(JSON.stringify({ level: 'error', msg: 'security alert failed', kind: alert.kind, ...(await describeError(error)) }))
  }
}

/**
 * Audits a download or an export (an event of category `data_extraction` by
 * a tenant's account) and counts it against the account's extraction
 * budget in the same transaction; the one that reaches the threshold raises
 * `security.download_burst`. Use it instead of audit() for those events.
 * Answers `ok: false` (nothing committed) when one of `guards` changed no row.
 */
export async function auditExtraction(
  env: Env,
  meta: RequestMeta,
  entry: AuditEntry & { tenantId: string },
  { guards = [], now = Date.now() }: { guards?: SqlWrite[]; now?: number } = {},
): Promise<AppendResult> {
  const db = database(env)
  const actorId = entry.actor.id ?? 'unknown'
  const ref = counterOf(DETECTORS.extractions, `extractions:${entry.tenantId}:${actorId}`, entry.tenantId, now)
  // `guards` (an export allowance, say) must each change a row, or nothing is committed.
  const result = await audit(env, meta, entry, [...guards, countWrite(db, ref)], guards.length > 0 ? { guard: guards.map((_, i) => i) } : {})
  if (result.ok) {
    await alertAtThreshold(env, db, meta, DETECTORS.extractions, ref, countedOf(result.rows[guards.length]), {
      tenantId: entry.tenantId,
      kind: 'download_burst',
      subject: { type: entry.actor.type, id: entry.actor.id },
      details: { last_action: entry.action },
    })
  }
  return result
}

/**
 * Counts a 403 for a missing permission or role against the session; the
 * one that reaches the threshold raises `security.permission_failures`.
 * One D1 write per failure; nothing on requests that pass.
 */
export async function notePermissionFailure(env: Env, meta: RequestMeta, principal: Principal, now = Date.now()) {
  const db = database(env)
  const ref = counterOf(DETECTORS.permissionFailures, `forbidden:${principal.sessionId}`, principal.tenantId, now)
  const counted = await countNow(db, ref)
  await alertAtThreshold(env, db, meta, DETECTORS.permissionFailures, ref, counted, {
    tenantId: principal.tenantId,
    kind: 'permission_failures',
    subject: { type: principal.actorType, id: principal.actorId },
    details: { session_id: principal.sessionId, network: networkOf(meta.ip) },
  })
}

/** The write that counts a refused source against its tenant (or the platform): commit it with the refusal's event. */
export function sourceRefusalCounter(db: Database, tenantId: string | null, now = Date.now()): { ref: CounterRef; write: SqlWrite } {
  const ref = counterOf(DETECTORS.sourceRefusals, `source-refused:${tenantId ?? 'platform'}`, tenantId, now)
  return { ref, write: countWrite(db, ref) }
}

/** After a refusal's event committed: the refusal that reaches the threshold raises `security.source_refusal_burst`. */
export async function afterSourceRefusal(env: Env, meta: RequestMeta, ref: CounterRef, rows: unknown[] | undefined, rule: string) {
  await alertAtThreshold(env, database(env), meta, DETECTORS.sourceRefusals, ref, countedOf(rows), {
    tenantId: ref.tenantId,
    kind: 'source_refusal_burst',
    subject: { type: ref.tenantId ? 'tenant' : 'platform', id: ref.tenantId },
    details: { last_rule: rule, last_network: networkOf(meta.ip) },
  })
}
