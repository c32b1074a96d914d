import { DurableObject } from 'cloudflare:workers'
import {
  GENESIS_HASH,
  KEYED_HASH_ALG,
  auditChainKey,
  auditEventHashMatches,
  keyedAuditEventHash,
  type AuditHashAlg,
  type StoredAuditEvent,
} from '../lib/audit-hash'
import { newId } from '../lib/ids'
import { isoNow } from '../lib/time'
import type { ChainVerification } from '../schemas/audit'

/** An audit event before the chain numbers, stamps, links and hashes it. */
export type AuditDraft = Omit<StoredAuditEvent, 'id' | 'chain' | 'seq' | 'at' | 'prev_hash' | 'hash' | 'hash_alg'>

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

/** Where and why a chain stopped being trustworthy. */
export type ChainBreak = { seq: number; reason: string }

export type AppendResult =
  | { ok: true; event: StoredAuditEvent; rows: unknown[][] }
  | { ok: false; reason: 'no-change' }
  /** D1 holds events past the anchored head that do not extend it: nothing was committed. */
  | { ok: false; reason: 'chain-broken'; problem: ChainBreak }

export type ChainHead = { seq: number; hash: string }

/** A chain's anchored head and its last verified checkpoint (null: none yet). */
export type ChainState = { head: ChainHead | null; verified: ChainHead | null }

export type VerifyOptions = {
  /** Re-walk from the first event instead of from the last verified checkpoint. Default false. */
  full?: boolean
  /** Events read per D1 query. Default 500. */
  pageSize?: number
  /**
   * Pages one call may read before it saves its progress and stops with
   * `complete: false` (D1 allows 1,000 queries per invocation). Default 200.
   */
  maxPages?: number
}

const VERIFY_PAGE = 500
const VERIFY_MAX_PAGES = 200

/**
 * How far D1 may be ahead of the anchored head and still be adopted. Each
 * append whose answer was lost (the batch committed, the object never heard)
 * leaves one event; anything near this many is not that.
 */
const AHEAD_LIMIT = 100

const COLUMNS = [
  'id', 'chain', 'seq', 'tenant_id', 'at', 'actor_type', 'actor_id', 'action', 'category', 'target_type', 'target_id',
  'request_id', 'service_request_id', 'ip', 'user_agent', 'outcome', 'details', 'prev_hash', 'hash', 'hash_alg',
] as const satisfies readonly (keyof StoredAuditEvent)[]

const INSERT = `INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`

/**
 * The keeper of one audit chain (one tenant, or the platform). Every audited
 * change goes through `append`, which commits the change's own D1 writes and
 * its chained event in one D1 batch (one transaction), one append at a time,
 * so concurrent requests can never fork the chain. Outside D1's reach, in its
 * own storage, it keeps what lets `verify` trust nothing D1 says alone: the
 * head it last committed, the seq from which events are keyed, and the last
 * verified checkpoint.
 */
export class AuditChain extends DurableObject<Env> {
  /** Appends run strictly one after another; D1 I/O does not hold the input gate. */
  private tail: Promise<unknown> = Promise.resolve()
  private head: ChainHead | null = null
  private key: Promise<CryptoKey> | null = null

  /**
   * Commits `writes` and the event for `draft` atomically, linked to the
   * chain's current head and keyed with the chain's HMAC key. Returns the
   * stored event and the rows each write returned (for `RETURNING` clauses).
   * Refuses (`chain-broken`, nothing committed) while D1 holds events past the
   * anchored head that do not extend it.
   */
  append(chain: string, draft: AuditDraft, writes: SqlWrite[] = [], options: AppendOptions = {}) {
    const run = this.tail.then(() => this.appendNow(chain, draft, writes, options))
    this.tail = run.catch(() => undefined)
    return run
  }

  /**
   * Checks the chain up to the head this object anchored: every hash (keyed
   * from the switch-over seq on), every link, gapless seq, that D1 still holds
   * the anchored head, and that whatever D1 holds just past it extends it.
   * Starts after the last verified checkpoint (re-checking that checkpoint's
   * event first), or from the first event with `full`. One call reads at most
   * `maxPages` pages; a longer walk saves its progress and answers
   * `complete: false`, and the next call (with the same `full`) goes on from
   * there. Reports the first break found.
   */
  async verify(chain: string, options: VerifyOptions = {}): Promise<ChainVerification> {
    const { full = false, pageSize = VERIFY_PAGE, maxPages = VERIFY_MAX_PAGES } = options
    const storage = this.ctx.storage.kv
    const db = this.env.DB
    const anchored = storage.get<ChainHead>(headKey(chain)) ?? null
    const keyedFrom = storage.get<number>(keyedFromKey(chain))
    const key = await this.chainKey(chain)
    const progressKey = full ? sweepKey(chain) : checkpointKey(chain)
    const start = storage.get<ChainHead>(progressKey) ?? { seq: 0, hash: GENESIS_HASH }
    let checked = 0
    const report = (problem: ChainBreak | null, complete: boolean): ChainVerification => ({
      chain,
      ok: problem === null,
      checked,
      from_seq: start.seq + 1,
      complete,
      head: anchored,
      problem,
    })
    const fail = (seq: number, reason: string) => {
      // A full re-walk that found a break starts over next time rather than resuming past it.
      if (full) storage.delete(sweepKey(chain))
      return report({ seq, reason }, true)
    }

    if (start.seq > 0) {
      const at = await db.prepare('SELECT * FROM audit_events WHERE chain = ? AND seq = ?').bind(chain, start.seq).first<StoredAuditEvent>()
      const reason = !at || at.hash !== start.hash ? 'changed or removed' : await contentProblem(at, keyedFrom, key)
      if (reason) return fail(start.seq, `the event at the last verified checkpoint: ${reason}`)
    }

    // Events appended after the anchor was read are newer than this check: leave them for the next one.
    const lastSeq = anchored?.seq ?? Number.MAX_SAFE_INTEGER
    let prev = start
    let reachedEnd = prev.seq >= lastSeq
    for (let pages = 0; !reachedEnd && pages < maxPages; pages++) {
      const { results } = await db
        .prepare('SELECT * FROM audit_events WHERE chain = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?')
        .bind(chain, prev.seq, lastSeq, pageSize)
        .all<StoredAuditEvent>()
      for (const event of results) {
        const problem = await eventProblem(event, prev, keyedFrom, key)
        if (problem) return fail(problem.seq, problem.reason)
        prev = { seq: event.seq, hash: event.hash }
        checked++
      }
      reachedEnd = results.length < pageSize || prev.seq >= lastSeq
    }
    if (!reachedEnd) {
      saveProgress(storage, progressKey, prev)
      return report(null, false)
    }
    if (anchored && anchored.seq !== prev.seq) {
      return fail(prev.seq + 1, `the chain ends at event ${prev.seq} but its sequencer committed ${anchored.seq}`)
    }
    if (anchored && anchored.hash !== prev.hash) return fail(prev.seq, 'the newest event is not the one its sequencer committed')
    if (anchored) {
      const next = await db.prepare('SELECT * FROM audit_events WHERE chain = ? AND seq = ?').bind(chain, anchored.seq + 1).first<StoredAuditEvent>()
      // Read again: an append since the start of this check may have been the first keyed one.
      const problem = next && (await eventProblem(next, anchored, storage.get<number>(keyedFromKey(chain)), key))
      if (problem) return fail(problem.seq, `past the head its sequencer committed: ${problem.reason}`)
    }
    if (prev.seq > 0) saveProgress(storage, checkpointKey(chain), prev)
    if (full) storage.delete(sweepKey(chain))
    return report(null, true)
  }

  /**
   * Where the chain stands, read from this object's own storage only (no D1
   * query, no change): the head it last committed and the last event a
   * verify confirmed. The SLA report shows them as the trail's evidence.
   */
  state(chain: string): ChainState {
    const storage = this.ctx.storage.kv
    return { head: storage.get<ChainHead>(headKey(chain)) ?? null, verified: storage.get<ChainHead>(checkpointKey(chain)) ?? null }
  }

  private chainKey(chain: string): Promise<CryptoKey> {
    this.key ??= auditChainKey(this.env, chain).catch((error: unknown) => {
      this.key = null
      throw error
    })
    return this.key
  }

  private async appendNow(
    chain: string,
    draft: AuditDraft,
    writes: SqlWrite[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    if (!this.head) {
      const loaded = await this.loadHead(chain)
      if (!loaded.ok) return { ok: false, reason: 'chain-broken', problem: loaded.problem }
    }
    const head = this.head!
    const seq = head.seq + 1
    const storage = this.ctx.storage.kv
    // The switch-over to keyed hashes is recorded once, out of D1's reach: a row cannot claim to predate it.
    if (storage.get<number>(keyedFromKey(chain)) === undefined) storage.put(keyedFromKey(chain), seq)
    const partial = { ...draft, id: newId('evt'), chain, seq, at: isoNow(), prev_hash: head.hash, hash_alg: KEYED_HASH_ALG }
    const event: StoredAuditEvent = { ...partial, hash: await keyedAuditEventHash(await this.chainKey(chain), partial) }
    const db = this.env.DB
    const guarded = new Set(options.guard === undefined ? [] : [options.guard].flat())
    const statements: D1PreparedStatement[] = []
    const resultIndex: number[] = []
    writes.forEach((w, i) => {
      resultIndex.push(statements.length)
      statements.push(db.prepare(w.sql).bind(...w.params))
      if (guarded.has(i)) statements.push(db.prepare(GUARD))
    })
    statements.push(db.prepare(INSERT).bind(...COLUMNS.map((c) => event[c])))
    let results: D1Result[]
    try {
      results = await db.batch(statements)
    } catch (error) {
      // The batch rolled back as a whole, so the chain did not move.
      if (guarded.size > 0 && String(error).includes('must_stay_empty')) return { ok: false, reason: 'no-change' }
      // Forget the cached head in case D1 moved under us (a commit whose answer was lost).
      this.head = null
      // Our seq was taken: something wrote this chain behind the sequencer's back. Say what, not just "500".
      if (/UNIQUE constraint failed: audit_events\.chain/.test(String(error))) {
        const loaded = await this.loadHead(chain)
        if (!loaded.ok) return { ok: false, reason: 'chain-broken', problem: loaded.problem }
      }
      throw error
    }
    this.head = { seq: event.seq, hash: event.hash }
    storage.put(headKey(chain), this.head)
    return { ok: true, event, rows: resultIndex.map((i) => results[i]?.results ?? []) }
  }

  /**
   * Where the chain stands. The head this object last committed is kept in its
   * own storage, out of D1's reach, so a deleted tail cannot silently become
   * the new head. When D1 is ahead (a commit whose answer was lost), its events
   * are adopted only if each one extends the anchored head, link by link and
   * with a valid keyed hash; otherwise someone wrote them behind the
   * sequencer's back, and the chain refuses appends until they are gone.
   */
  private async loadHead(chain: string): Promise<{ ok: true } | { ok: false; problem: ChainBreak }> {
    const storage = this.ctx.storage.kv
    const anchored = storage.get<ChainHead>(headKey(chain))
    const db = this.env.DB
    const stored = await db
      .prepare('SELECT seq, hash FROM audit_events WHERE chain = ? ORDER BY seq DESC LIMIT 1')
      .bind(chain)
      .first<ChainHead>()
    // No anchor: a chain this object has never written. D1 level or behind: the anchor wins, and verify shows the gap.
    if (!anchored || !stored || stored.seq <= anchored.seq) {
      this.head = anchored ?? stored ?? { seq: 0, hash: GENESIS_HASH }
      return { ok: true }
    }
    const { results } = await db
      .prepare('SELECT * FROM audit_events WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?')
      .bind(chain, anchored.seq, AHEAD_LIMIT + 1)
      .all<StoredAuditEvent>()
    let problem: ChainBreak | null =
      results.length > AHEAD_LIMIT
        ? { seq: anchored.seq + 1, reason: `D1 holds more than ${AHEAD_LIMIT} events past the head its sequencer committed` }
        : null
    let head: ChainHead = anchored
    // A chain anchored before keying existed: everything this code commits is keyed, so events
    // past the anchor must be too. Recording the switch-over here (not at the next append) keeps
    // a forged unkeyed tail from being adopted and then passing as pre-keying history.
    if (storage.get<number>(keyedFromKey(chain)) === undefined) storage.put(keyedFromKey(chain), anchored.seq + 1)
    const keyedFrom = storage.get<number>(keyedFromKey(chain))
    const key = await this.chainKey(chain)
    for (const event of problem ? [] : results) {
      problem = await eventProblem(event, head, keyedFrom, key)
      if (problem) break
      head = { seq: event.seq, hash: event.hash }
    }
    if (problem) {
      console.error(JSON.stringify({ level: 'error', msg: 'audit chain broken: appends refused', chain, anchored_seq: anchored.seq, ...problem }))
      return { ok: false, problem: { seq: problem.seq, reason: `past the head its sequencer committed (${anchored.seq}): ${problem.reason}` } }
    }
    this.head = head
    storage.put(headKey(chain), head)
    return { ok: true }
  }

  /**
   * Termination (DM-7): forgets the chain's anchored head, its keying
   * switch-over and its checkpoints, once the caller has read the final head
   * and erased the chain's events from D1. Waits for appends in flight.
   */
  async eraseAll(): Promise<void> {
    await this.tail
    await this.ctx.storage.deleteAlarm()
    await this.ctx.storage.deleteAll()
    this.head = null
  }
}

/** Which hash applies at `seq`: keyed from the recorded switch-over on (never, if none is recorded). */
function algAt(seq: number, keyedFrom: number | undefined): AuditHashAlg {
  return keyedFrom !== undefined && seq >= keyedFrom ? KEYED_HASH_ALG : 'sha256'
}

/** What is wrong with an event's own content, judged by the algorithm the chain says applies at its seq. */
async function contentProblem(event: StoredAuditEvent, keyedFrom: number | undefined, key: CryptoKey): Promise<string | null> {
  const alg = algAt(event.seq, keyedFrom)
  if (event.hash_alg !== alg) {
    return alg === KEYED_HASH_ALG
      ? `event claims an unkeyed hash, but the chain is keyed from event ${keyedFrom}`
      : 'event claims a keyed hash from before the chain was keyed'
  }
  return (await auditEventHashMatches(key, alg, event)) ? null : 'event content does not match its hash'
}

/** What is wrong with `event` as the successor of `prev`, if anything. */
async function eventProblem(
  event: StoredAuditEvent,
  prev: ChainHead,
  keyedFrom: number | undefined,
  key: CryptoKey,
): Promise<ChainBreak | null> {
  if (event.seq !== prev.seq + 1) return { seq: prev.seq + 1, reason: `event ${prev.seq + 1} is missing` }
  if (event.prev_hash !== prev.hash) return { seq: event.seq, reason: 'link to the previous event is broken' }
  const reason = await contentProblem(event, keyedFrom, key)
  return reason ? { seq: event.seq, reason } : null
}

/** Progress only moves forward, whichever of two concurrent checks finishes last. */
function saveProgress(storage: SyncKvStorage, key: string, head: ChainHead) {
  const saved = storage.get<ChainHead>(key)
  if (!saved || head.seq > saved.seq) storage.put(key, head)
}

function headKey(chain: string) {
  return `head:${chain}`
}

function keyedFromKey(chain: string) {
  return `keyed-from:${chain}`
}

function checkpointKey(chain: string) {
  return `checkpoint:${chain}`
}

function sweepKey(chain: string) {
  return `sweep:${chain}`
}

/** One sequencer per chain: a chain is a tenant id, or `platform`. */
export function auditChainFor(env: Pick<Env, 'AUDIT_CHAIN'>, chain: string) {
  return env.AUDIT_CHAIN.get(env.AUDIT_CHAIN.idFromName(`audit:${chain}`))
}
