import { DurableObject } from 'cloudflare:workers'

/**
 * How one counter counts.
 * - `consecutive`: failures in a row, cleared by a success (`reset`). At
 *   `limit` the key is refused for a wait that doubles with every further
 *   block (from `firstMs` up to `maxMs`), or locked until released. Failures
 *   below a lock are forgotten `forgetMs` after the last one.
 * - `window`: at most `limit` per fixed window of `windowMs` that starts at
 *   the first count; at `limit` the key is refused until the window ends.
 *   A `refund` takes one count back (an attempt that turned out fine).
 */
export type ThrottleRule =
  | { kind: 'consecutive'; limit: number; block: { firstMs: number; maxMs: number } | 'lock'; forgetMs: number }
  | { kind: 'window'; limit: number; windowMs: number }

/** One counter: a scope (what is counted), a key inside this object (often '' or an IP's hash) and its rule. */
export type ThrottleCounter = { scope: string; key: string; rule: ThrottleRule }

/**
 * - `reserve`: refused if the counter is blocked; "busy" if the attempts
 *   already in flight could use up what is left; else holds one place
 *   (`id`) for an attempt whose outcome is not known yet. Racing attempts
 *   therefore never get more tries than the limit, and a burst of right
 *   ones is not refused for being in flight: it waits its turn.
 * - `fail`, `pass`, `abandon`: the reserved attempt's outcome: a failure
 *   (counted), a success (a consecutive counter starts over; a window
 *   counter does not count it), or nothing that counts;
 * - `count`: counts at once (what happened already: a mailed code, an
 *   unknown token); refused if blocked;
 * - `check`: refused if blocked, never counted; `peek`: reports the state;
 * - `reset`: forgets the counter; `refund`: takes the last count back.
 */
export type ThrottleOp =
  | { op: 'check' | 'peek' | 'reset' | 'refund' | 'count'; counter: ThrottleCounter }
  | { op: 'reserve' | 'fail' | 'pass' | 'abandon'; counter: ThrottleCounter; id: string }

export type CounterState = {
  scope: string
  key: string
  count: number
  /** Epoch ms until which the counter refuses; 0 when it does not. */
  blockedUntil: number
  locked: boolean
  /** This count started a block or a lock: announce it (once per block). */
  tripped: boolean
  /** Blocks that came before this one in the same run of failures (0: the first, tell the owner). */
  priorBlocks: number
  /** Attempts refused during the previous block, reported once with the next. */
  refusedBefore: number
}

/** The refusing counter that waits longest; `retryAfterMs` is null for a lock. */
export type ThrottleRefusal = { scope: string; key: string; retryAfterMs: number | null }

export type ThrottleResult = {
  refused: ThrottleRefusal | null
  /** Attempts in flight hold every place left: nothing was reserved or counted; try again shortly. */
  busy: { scope: string } | null
  /** The state after each `count` and `fail`, in order (empty when refused or busy). */
  counted: CounterState[]
  /** The state of each `peek`, in order. */
  peeked: CounterState[]
}

/** What `release` ended: the scopes it cleared and whether one of them was locked or blocked. */
export type Released = { scope: string; keys: number; locked: boolean; blocked: boolean }

/** A reserved place is given up this long after it was taken (an attempt that died before its outcome). */
export const RESERVATION_MS = 30_000

type Row = {
  scope: string
  key: string
  count: number
  window_start: number
  last_at: number
  blocked_until: number
  locked: number
  blocks: number
  refused: number
  /** The last_at of the count that started the current block, and the block it replaced: what a refund undoes. */
  tripped_at: number
  prev_blocked_until: number
  expires_at: number | null
}

const SCHEMA = [
  `CREATE TABLE counters (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    count INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL,
    locked INTEGER NOT NULL,
    blocks INTEGER NOT NULL,
    refused INTEGER NOT NULL,
    tripped_at INTEGER NOT NULL,
    prev_blocked_until INTEGER NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (scope, key)
  )`,
  'CREATE INDEX counters_expiry ON counters (expires_at)',
  `CREATE TABLE reservations (
    id TEXT NOT NULL,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (scope, key, id)
  )`,
]

/**
 * Exact failure counters for one key of the abuse defence: one object per
 * account (realm and e-mail, named by a keyed hash, never the address) and
 * one per client network (an IPv4 address or an IPv6 /64). Every RPC is one
 * synchronous step over the object's SQLite, so concurrent sign-ins see each
 * other's counts, and each other's attempts in flight, exactly. Objects that only ever answered checks create no
 * storage; an alarm removes counters once they are forgotten. Time comes from
 * the stored epoch-ms columns, so tests move it by editing them.
 */
export class Throttle extends DurableObject<Env> {
  private readonly sql: SqlStorage
  private ready = false

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    this.ready = (ctx.storage.kv.get<number>('schema') ?? 0) >= SCHEMA.length
  }

  private migrate() {
    if (this.ready) return
    const applied = this.ctx.storage.kv.get<number>('schema') ?? 0
    this.ctx.storage.transactionSync(() => {
      for (const statement of SCHEMA.slice(applied)) this.sql.exec(statement)
      this.ctx.storage.kv.put('schema', SCHEMA.length)
    })
    this.ready = true
  }

  /**
   * Applies `ops` in one step: outcomes, resets and refunds first; then, if
   * any `reserve`, `count` or `check` names a blocked counter, the call is
   * refused (the refusal is counted on each blocking counter) and nothing
   * else happens; if a `reserve` finds no place left it answers busy, again
   * with nothing reserved or counted; otherwise every `count` is counted and
   * every `reserve` holds its place. Peeks report the final state.
   */
  async apply(ops: ThrottleOp[]): Promise<ThrottleResult> {
    if (!this.ready && ops.every((o) => o.op === 'check' || o.op === 'peek')) return this.answerFromNothing(ops)
    this.migrate()
    const result = this.step(ops, Date.now())
    await this.scheduleSweep()
    return result
  }

  private step(ops: ThrottleOp[], now: number): ThrottleResult {
    this.sql.exec('DELETE FROM reservations WHERE at <= ?', now - RESERVATION_MS)
    const counted: CounterState[] = []
    for (const o of ops) {
      const { counter } = o
      if (o.op === 'reset') this.sql.exec('DELETE FROM counters WHERE scope = ? AND key = ?', counter.scope, counter.key)
      if (o.op === 'refund') this.refund(counter, now)
      if (o.op === 'fail' || o.op === 'pass' || o.op === 'abandon') {
        this.sql.exec('DELETE FROM reservations WHERE scope = ? AND key = ? AND id = ?', counter.scope, counter.key, o.id)
      }
      if (o.op === 'fail') counted.push(this.count(counter, now))
      if (o.op === 'pass' && counter.rule.kind === 'consecutive') this.sql.exec('DELETE FROM counters WHERE scope = ? AND key = ?', counter.scope, counter.key)
    }
    const guarded = ops.filter((o) => o.op === 'reserve' || o.op === 'count' || o.op === 'check')
    const loaded = guarded.map((o) => ({ o, row: this.load(o.counter, now) }))
    const blocking = loaded.filter(({ row }) => isBlocked(row, now))
    if (blocking.length > 0) {
      for (const { row } of blocking) {
        row.refused += 1
        this.store(row)
      }
      const waits = blocking.map(({ o, row }) => ({ scope: o.counter.scope, key: o.counter.key, retryAfterMs: row.locked ? null : row.blocked_until - now }))
      const longest = waits.find((w) => w.retryAfterMs === null) ?? waits.sort((a, b) => b.retryAfterMs! - a.retryAfterMs!)[0]!
      return { refused: longest, busy: null, counted, peeked: this.peek(ops, now) }
    }
    const full = loaded.find(({ o, row }) => o.op === 'reserve' && this.inFlight(o.counter) >= room(o.counter.rule, row))
    if (full) return { refused: null, busy: { scope: full.o.counter.scope }, counted, peeked: this.peek(ops, now) }
    for (const o of ops) {
      if (o.op === 'count') counted.push(this.count(o.counter, now))
      if (o.op === 'reserve') this.sql.exec('INSERT OR REPLACE INTO reservations (id, scope, key, at) VALUES (?, ?, ?, ?)', o.id, o.counter.scope, o.counter.key, now)
    }
    return { refused: null, busy: null, counted, peeked: this.peek(ops, now) }
  }

  private inFlight(counter: ThrottleCounter): number {
    return this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM reservations WHERE scope = ? AND key = ?', counter.scope, counter.key).one().n
  }

  /**
   * Clears every counter of the given scopes (all keys: every network's
   * pair counter of an account), for an admin's unlock or a password reset.
   */
  async release(scopes: string[]): Promise<Released[]> {
    const held = await this.inspect(scopes)
    if (this.ready) for (const scope of scopes) this.sql.exec('DELETE FROM counters WHERE scope = ?', scope)
    return held
  }

  /** What `release` would clear, without clearing it. */
  async inspect(scopes: string[]): Promise<Released[]> {
    if (!this.ready) return scopes.map((scope) => ({ scope, keys: 0, locked: false, blocked: false }))
    const now = Date.now()
    return scopes.map((scope) => {
      const rows = this.sql.exec<Row>('SELECT * FROM counters WHERE scope = ?', scope).toArray()
      return { scope, keys: rows.length, locked: rows.some((r) => r.locked === 1), blocked: rows.some((r) => r.blocked_until > now) }
    })
  }

  override async alarm(): Promise<void> {
    if (!this.ready) return
    const now = Date.now()
    this.sql.exec('DELETE FROM counters WHERE expires_at IS NOT NULL AND expires_at <= ?', now)
    this.sql.exec('DELETE FROM reservations WHERE at <= ?', now - RESERVATION_MS)
    await this.scheduleSweep()
  }

  private answerFromNothing(ops: ThrottleOp[]): ThrottleResult {
    return { refused: null, busy: null, counted: [], peeked: ops.filter((o) => o.op === 'peek').map((o) => toState(fresh(o.counter, Date.now()), false, 0, 0)) }
  }

  private peek(ops: ThrottleOp[], now: number): CounterState[] {
    return ops.filter((o) => o.op === 'peek').map((o) => toState(this.load(o.counter, now), false, 0, 0))
  }

  /** The stored row as of `now`: a window that ended, or failures old enough to forget, start over. */
  private load(counter: ThrottleCounter, now: number): Row {
    const row = this.sql.exec<Row>('SELECT * FROM counters WHERE scope = ? AND key = ?', counter.scope, counter.key).toArray()[0]
    if (!row) return fresh(counter, now)
    const rule = counter.rule
    if (rule.kind === 'window' && now >= row.window_start + rule.windowMs) {
      return { ...row, count: 0, window_start: now, blocked_until: 0, tripped_at: 0 }
    }
    if (rule.kind === 'consecutive' && row.locked === 0 && row.blocked_until <= now && now - row.last_at >= rule.forgetMs) {
      return { ...row, count: 0, blocks: 0, blocked_until: 0, tripped_at: 0 }
    }
    return row
  }

  private count(counter: ThrottleCounter, now: number): CounterState {
    const row = this.load(counter, now)
    const rule = counter.rule
    row.count += 1
    row.last_at = now
    let tripped = false
    let priorBlocks = 0
    let refusedBefore = 0
    if (row.count >= rule.limit) {
      tripped = true
      priorBlocks = row.blocks
      refusedBefore = row.refused
      row.refused = 0
      row.tripped_at = now
      row.prev_blocked_until = row.blocked_until
      if (rule.kind === 'window') {
        row.blocked_until = row.window_start + rule.windowMs
      } else if (rule.block === 'lock') {
        row.locked = 1
      } else {
        row.blocked_until = now + Math.min(rule.block.firstMs * 2 ** row.blocks, rule.block.maxMs)
      }
      row.blocks += 1
    }
    row.expires_at = expiry(row, rule)
    this.store(row)
    return toState(row, tripped, priorBlocks, refusedBefore)
  }

  /** Takes the last count back; if that count started the block (nothing counted since), the block goes with it. */
  private refund(counter: ThrottleCounter, now: number) {
    const row = this.load(counter, now)
    if (row.count === 0) return
    if (row.tripped_at > 0 && row.tripped_at === row.last_at) {
      row.blocked_until = row.prev_blocked_until
      row.locked = 0
      row.blocks = Math.max(0, row.blocks - 1)
      row.tripped_at = 0
    }
    row.count -= 1
    row.expires_at = expiry(row, counter.rule)
    this.store(row)
  }

  private store(row: Row) {
    this.sql.exec(
      `INSERT INTO counters (scope, key, count, window_start, last_at, blocked_until, locked, blocks, refused, tripped_at, prev_blocked_until, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope, key) DO UPDATE SET count = excluded.count, window_start = excluded.window_start,
         last_at = excluded.last_at, blocked_until = excluded.blocked_until, locked = excluded.locked,
         blocks = excluded.blocks, refused = excluded.refused, tripped_at = excluded.tripped_at,
         prev_blocked_until = excluded.prev_blocked_until, expires_at = excluded.expires_at`,
      row.scope,
      row.key,
      row.count,
      row.window_start,
      row.last_at,
      row.blocked_until,
      row.locked,
      row.blocks,
      row.refused,
      row.tripped_at,
      row.prev_blocked_until,
      row.expires_at,
    )
  }

  private async scheduleSweep() {
    const next = this.sql.exec<{ at: number | null }>('SELECT min(expires_at) AS at FROM counters WHERE expires_at IS NOT NULL').one().at
    if (next === null) return
    const current = await this.ctx.storage.getAlarm()
    if (current === null || next < current) await this.ctx.storage.setAlarm(next)
  }

  /** Termination (DM-7): forgets every counter of this key and the alarm that would sweep them. */
  async eraseAll(): Promise<void> {
    await this.ctx.storage.deleteAlarm()
    await this.ctx.storage.deleteAll()
    this.ready = false
  }
}

function fresh(counter: ThrottleCounter, now: number): Row {
  return {
    scope: counter.scope,
    key: counter.key,
    count: 0,
    window_start: now,
    last_at: 0,
    blocked_until: 0,
    locked: 0,
    blocks: 0,
    refused: 0,
    tripped_at: 0,
    prev_blocked_until: 0,
    expires_at: null,
  }
}

/**
 * How many attempts may be in flight at once: what is left of the limit; a
 * consecutive counter past its limit whose wait is over gets one more try
 * at a time (whose failure blocks it again, for longer).
 */
function room(rule: ThrottleRule, row: Row): number {
  if (rule.kind === 'consecutive' && row.count >= rule.limit) return 1
  return rule.limit - row.count
}

function isBlocked(row: Row, now: number) {
  return row.locked === 1 || row.blocked_until > now
}

/** When the row may go: the end of its window, or once its failures are forgotten; a lock stays. */
function expiry(row: Row, rule: ThrottleRule): number | null {
  if (rule.kind === 'window') return row.window_start + rule.windowMs
  if (row.locked === 1) return null
  return Math.max(row.blocked_until, row.last_at + rule.forgetMs)
}

function toState(row: Row, tripped: boolean, priorBlocks: number, refusedBefore: number): CounterState {
  return {
    scope: row.scope,
    key: row.key,
    count: row.count,
    blockedUntil: row.blocked_until,
    locked: row.locked === 1,
    tripped,
    priorBlocks,
    refusedBefore,
  }
}

/** The object of one throttle key (`account:<hash>` or `ip:<hash>`); names come from services/abuse/keys.ts. */
export function throttleFor(env: Pick<Env, 'THROTTLE'>, name: string) {
  return env.THROTTLE.get(env.THROTTLE.idFromName(name))
}
