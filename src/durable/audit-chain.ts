import { DurableObject } from 'cloudflare:workers'
import { GENESIS_HASH, auditEventHash, type StoredAuditEvent } from '../lib/audit-hash'
import { newId } from '../lib/ids'
import { isoNow } from '../lib/time'

/** An audit event before the chain numbers, stamps and links it. */
export type AuditDraft = Omit<StoredAuditEvent, 'id' | 'chain' | 'seq' | 'at' | 'prev_hash' | 'hash'>

/** A D1 statement in plain data, so it can cross the RPC boundary. */
export type SqlWrite = { sql: string; params: unknown[] }

export type AppendOptions = {
  /**
   * Index (or indices) of writes that must each change at least one row. If
   * one changes none (the target vanished, a condition in its WHERE failed),
   * the whole batch rolls back (every write and the event) and the result is
   * `no-change`.
   */
  guard?: number | number[]
}

/** Aborts the batch when the statement before it changed nothing (see migrations/0004_write_guards.sql). */
const GUARD = 'INSERT INTO write_guards (must_stay_empty) SELECT 1 WHERE changes() = 0'

export type AppendResult =
  | { ok: true; event: StoredAuditEvent; rows: unknown[][] }
  | { ok: false; reason: 'no-change' }

export type ChainHead = { seq: number; hash: string }

const INSERT_COLUMNS = `id, chain, seq, tenant_id, at, actor_type, actor_id, action, category, target_type,
  target_id, request_id, ip, user_agent, outcome, details, prev_hash, hash`

/**
 * The sequencer of one audit chain (one tenant, or the platform). Every
 * audited change goes through `append`, which commits the change's own D1
 * writes and its chained audit event in one D1 batch (one transaction), one
 * append at a time, so concurrent requests can never fork the chain.
 */
export class AuditChain extends DurableObject<Env> {
  /** Appends run strictly one after another; D1 I/O does not hold the input gate. */
  private tail: Promise<unknown> = Promise.resolve()
  private head: ChainHead | null = null

  /**
   * Commits `writes` and the event for `draft` atomically, linked to the
   * chain's current head. Returns the stored event and the rows each write
   * returned (for `RETURNING` clauses).
   */
  append(chain: string, draft: AuditDraft, writes: SqlWrite[] = [], options: AppendOptions = {}) {
    const run = this.tail.then(() => this.appendNow(chain, draft, writes, options))
    this.tail = run.catch(() => undefined)
    return run
  }

  /** The newest event's seq and hash, as the sequencer knows it (tail-truncation evidence). */
  async currentHead(chain: string): Promise<ChainHead | null> {
    return this.ctx.storage.kv.get<ChainHead>(headKey(chain)) ?? null
  }

  private async appendNow(
    chain: string,
    draft: AuditDraft,
    writes: SqlWrite[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    const head = this.head ?? (await this.loadHead(chain))
    const partial = {
      ...draft,
      id: newId('evt'),
      chain,
      seq: head.seq + 1,
      at: isoNow(),
      prev_hash: head.hash,
    }
    const event: StoredAuditEvent = { ...partial, hash: await auditEventHash(partial) }
    const values = [
      event.id,
      event.chain,
      event.seq,
      event.tenant_id,
      event.at,
      event.actor_type,
      event.actor_id,
      event.action,
      event.category,
      event.target_type,
      event.target_id,
      event.request_id,
      event.ip,
      event.user_agent,
      event.outcome,
      event.details,
      event.prev_hash,
      event.hash,
    ]
    const insert = `INSERT INTO audit_events (${INSERT_COLUMNS}) VALUES (${values.map(() => '?').join(', ')})`
    const db = this.env.DB
    const guarded = new Set(options.guard === undefined ? [] : [options.guard].flat())
    const statements: D1PreparedStatement[] = []
    const resultIndex: number[] = []
    writes.forEach((w, i) => {
      resultIndex.push(statements.length)
      statements.push(db.prepare(w.sql).bind(...w.params))
      if (guarded.has(i)) statements.push(db.prepare(GUARD))
    })
    statements.push(db.prepare(insert).bind(...values))
    let results: D1Result[]
    try {
      results = await db.batch(statements)
    } catch (error) {
      // The batch rolled back as a whole, so the chain did not move.
      if (guarded.size > 0 && String(error).includes('must_stay_empty')) return { ok: false, reason: 'no-change' }
      // Forget the cached head in case D1 moved under us (a commit whose answer was lost).
      this.head = null
      throw error
    }
    this.head = { seq: event.seq, hash: event.hash }
    this.ctx.storage.kv.put(headKey(chain), this.head)
    return { ok: true, event, rows: resultIndex.map((i) => results[i]?.results ?? []) }
  }

  /**
   * Where the chain stands. The head this object last committed is kept in its
   * own storage, out of D1's reach, so a deleted tail cannot silently become
   * the new head. D1 wins only when it is ahead (a commit whose answer was lost).
   */
  private async loadHead(chain: string): Promise<ChainHead> {
    const anchored = this.ctx.storage.kv.get<ChainHead>(headKey(chain))
    const stored = await this.env.DB.prepare('SELECT seq, hash FROM audit_events WHERE chain = ? ORDER BY seq DESC LIMIT 1')
      .bind(chain)
      .first<ChainHead>()
    this.head = stored && (!anchored || stored.seq > anchored.seq) ? stored : (anchored ?? { seq: 0, hash: GENESIS_HASH })
    return this.head
  }
}

function headKey(chain: string) {
  return `head:${chain}`
}

/** One sequencer per chain: a chain is a tenant id, or `platform`. */
export function auditChainFor(env: Pick<Env, 'AUDIT_CHAIN'>, chain: string) {
  return env.AUDIT_CHAIN.get(env.AUDIT_CHAIN.idFromName(`audit:${chain}`))
}
