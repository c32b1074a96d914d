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
 * - `attempt`: refused if the counter is blocked, else counted (before the
 *   work it guards, so racing attempts can never pass more than the limit);
 * - `check`: refused if blocked, never counted;
 * - `peek`: reports the state, never refuses;
 * - `reset`: forgets the counter (a success);
 * - `refund`: takes one count back.
 */
export type ThrottleOp = { op: 'attempt' | 'check' | 'peek' | 'reset' | 'refund'; counter: ThrottleCounter }

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
  /** The state after each `attempt`, in order (empty when refused: nothing was counted). */
  counted: CounterState[]
  /** The state of each `peek`, in order. */
  peeked: CounterState[]
}

/** What `release` ended: the scopes it cleared and whether one of them was locked or blocked. */
export type Released = { scope: string; keys: number; locked: boolean; blocked: boolean }

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
    expires_at INTEGER,
    PRIMARY KEY (scope, key)
  )`,
  'CREATE INDEX counters_expiry ON counters (expires_at)',
]

/**
 * Exact failure counters for one key of the abuse defence: one object per
 * account (realm and e-mail, named by a keyed hash, never the address) and
 * one per client network (an IPv4 address or an IPv6 /64). Every RPC is one
 * synchronous step over the object's SQLite, so concurrent sign-ins see each
 * other's counts exactly. Objects that only ever answered checks create no
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
   * Applies `ops` in one step: resets and refunds first; then, if any
   * `attempt` or `check` names a blocked counter, the whole call is refused
   * (counting the refusal on each blocking counter) and nothing is counted;
   * otherwise every `attempt` is counted. Peeks report the final state.
   */
  async apply(ops: ThrottleOp[]): Promise<ThrottleResult> {
    const now = Date.now()
    const writes = ops.some((o) => o.op === 'attempt' || o.op === 'reset' || o.op === 'refund')
    if (!this.ready && !writes) return this.answerFromNothing(ops)
    this.migrate()
    for (const { op, counter } of ops) {
      if (op === 'reset') this.sql.exec('DELETE FROM counters WHERE scope = ? AND key = ?', counter.scope, counter.key)
      if (op === 'refund') this.refund(counter, now)
    }
    const guarded = ops.filter((o) => o.op === 'attempt' || o.op === 'check')
    const blocking = guarded.map((o) => ({ counter: o.counter, row: this.load(o.counter, now) })).filter(({ row }) => isBlocked(row, now))
    if (blocking.length > 0) {
      for (const { row } of blocking) {
        row.refused += 1
        this.store(row)
      }
      const waits = blocking.map(({ counter, row }) => ({ scope: counter.scope, key: counter.key, retryAfterMs: row.locked ? null : row.blocked_until - now }))
      const longest = waits.find((w) => w.retryAfterMs === null) ?? waits.sort((a, b) => b.retryAfterMs! - a.retryAfterMs!)[0]!
      return { refused: longest, counted: [], peeked: this.peek(ops, now) }
    }
    const counted = ops.filter((o) => o.op === 'attempt').map((o) => this.count(o.counter, now))
    await this.scheduleSweep()
    return { refused: null, counted, peeked: this.peek(ops, now) }
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
    this.sql.exec('DELETE FROM counters WHERE expires_at IS NOT NULL AND expires_at <= ?', Date.now())
    await this.scheduleSweep()
  }

  private answerFromNothing(ops: ThrottleOp[]): ThrottleResult {
    return { refused: null, counted: [], peeked: ops.filter((o) => o.op === 'peek').map((o) => toState(fresh(o.counter, Date.now()), false, 0, 0)) }
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
      return { ...row, count: 0, window_start: now, blocked_until: 0 }
    }
    if (rule.kind === 'consecutive' && row.locked === 0 && row.blocked_until <= now && now - row.last_at >= rule.forgetMs) {
      return { ...row, count: 0, blocks: 0, blocked_until: 0 }
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

  private refund(counter: ThrottleCounter, now: number) {
    const row = this.load(counter, now)
    if (row.count === 0) return
    row.count -= 1
    // The count that set the block is taken back, so is the block it set.
    if (row.count < counter.rule.limit && (row.locked === 1 || row.blocked_until > 0)) {
      row.blocked_until = 0
      row.locked = 0
      row.blocks = Math.max(0, row.blocks - 1)
    }
    row.expires_at = expiry(row, counter.rule)
    this.store(row)
  }

  private store(row: Row) {
    this.sql.exec(
      `INSERT INTO counters (scope, key, count, window_start, last_at, blocked_until, locked, blocks, refused, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope, key) DO UPDATE SET count = excluded.count, window_start = excluded.window_start,
         last_at = excluded.last_at, blocked_until = excluded.blocked_until, locked = excluded.locked,
         blocks = excluded.blocks, refused = excluded.refused, expires_at = excluded.expires_at`,
      row.scope,
      row.key,
      row.count,
      row.window_start,
      row.last_at,
      row.blocked_until,
      row.locked,
      row.blocks,
      row.refused,
      row.expires_at,
    )
  }

  private async scheduleSweep() {
    const next = this.sql.exec<{ at: number | null }>('SELECT min(expires_at) AS at FROM counters WHERE expires_at IS NOT NULL').one().at
    if (next === null) return
    const current = await this.ctx.storage.getAlarm()
    if (current === null || next < current) await this.ctx.storage.setAlarm(next)
  }
}

function fresh(counter: ThrottleCounter, now: number): Row {
  return { scope: counter.scope, key: counter.key, count: 0, window_start: now, last_at: 0, blocked_until: 0, locked: 0, blocks: 0, refused: 0, expires_at: null }
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
