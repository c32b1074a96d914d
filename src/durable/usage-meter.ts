import { jstMonth, nextJstMonthStart } from '../lib/time'
import { PLATFORM_REQUESTS_PER_MINUTE, REQUEST_WINDOW_SECONDS, SESSION_SHARE_OF_MINUTE, USAGE_ALERT_LEVELS, type UsageAlertLevel } from '../schemas/limits'

/**
 * The request limits one session store enforces: its share of the tenant's
 * (services/identity/sessions.ts divides by the shard count), versioned by
 * the tenant's `updated_at` so an older push never replaces a newer one.
 */
export type QuotaLimits = { perMinute: number; perMonth: number; version: string }

export type QuotaScope = 'session' | 'tenant-minute' | 'tenant-month' | 'platform'

/** One policy as the RateLimit fields state it. */
export type QuotaPolicy = { name: QuotaScope; quota: number; windowSeconds: number; remaining: number; resetSeconds: number }

/** A monthly threshold just reached, for the alert mail; confirmed back once it is sent. */
export type UsageAlert = { month: string; level: UsageAlertLevel; used: number; limit: number }

export type MeterVerdict =
  | { ok: true; policies: QuotaPolicy[]; alert?: UsageAlert }
  | { ok: false; scope: QuotaScope; limit: number; retryAfterSeconds: number; policies: QuotaPolicy[] }

/** What a store has counted, for the usage document. */
export type MeterStats = { month: string; minute: number; monthUsed: number }

/** A month's running total, as written to D1's tenant_usage. */
export type MonthTotal = { month: string; used: number }

const MINUTE_MS = REQUEST_WINDOW_SECONDS * 1000
/** In-memory counts reach the object's storage within this long, so a restart loses at most this much. */
export const PERSIST_MS = 10_000
/** The monthly count reaches D1 at most this often (one row write per busy shard per minute). */
export const FLUSH_MS = 60_000
/** How long a signalled alert waits for its confirmation before it is signalled again. */
const ALERT_RETRY_MS = 60_000

type Stored = {
  month: string
  used: number
  /** The highest alert level confirmed sent this month, and for which quota. */
  alerted: { level: UsageAlertLevel; limit: number } | null
  /** `used` as last written to D1. */
  flushed: number
  /** Months that ended before their final count reached D1. */
  closing: MonthTotal[]
  minute: { start: number; total: number }
}

type Kv = { get<T>(key: string): T | undefined; put<T>(key: string, value: T): void }

/**
 * The request counter inside a SessionStore: a 60-second window (tenant
 * total and per session) and the calendar month. Counting is
 * synchronous and in memory, so a request costs no storage write; the
 * counts reach the object's storage within PERSIST_MS and D1 within
 * FLUSH_MS from the store's alarm (`tick`). A restart (deploy, failure)
 * loses at most the last PERSIST_MS of counts, which under-counts and never
 * over-counts. Refused requests are not counted: once a flood stops, the
 * next minute starts empty (PF-2).
 */
export class UsageMeter {
  private state: Stored
  private quota: QuotaLimits | null
  /** Requests per session in the current minute; sessions that made none are absent. */
  private sessions = new Map<string, number>()
  private persisted = true
  private lastFlushAt = 0
  private alertSignalled: { key: string; at: number } | null = null

  constructor(private readonly kv: Kv) {
    this.quota = kv.get<QuotaLimits>('quota') ?? null
    this.state = kv.get<Stored>('usage') ?? { month: '', used: 0, alerted: null, flushed: 0, closing: [], minute: { start: 0, total: 0 } }
  }

  /** Takes new limits unless the held ones are newer (or the same). Returns whether they were taken. */
  setLimits(limits: QuotaLimits): boolean {
    const held = this.quota
    if (held && (held.version > limits.version || (held.version === limits.version && held.perMinute === limits.perMinute && held.perMonth === limits.perMonth))) {
      return false
    }
    this.quota = limits
    this.kv.put('quota', limits)
    return true
  }

  /** Counts one request of `sessionId` if every limit allows it; a refused request is not counted. */
  count(sessionId: string, now: number): MeterVerdict {
    this.roll(now)
    const q = this.effective()
    const minute = this.state.minute
    const mine = this.sessions.get(sessionId) ?? 0
    const refusal = this.refusal(q, mine, now)
    if (refusal) return { ok: false, ...refusal, policies: this.policies(q, mine, now) }
    minute.total += 1
    this.sessions.set(sessionId, mine + 1)
    this.state.used += 1
    this.persisted = false
    const alert = this.alertDue(now)
    return { ok: true, policies: this.policies(q, mine + 1, now), ...(alert ? { alert } : {}) }
  }

  /** The current counts as the RateLimit fields would state them, counting nothing. */
  peek(sessionId: string, now: number): QuotaPolicy[] {
    this.roll(now, false)
    return this.policies(this.effective(), this.live(now) ? (this.sessions.get(sessionId) ?? 0) : 0, now)
  }

  stats(now: number): MeterStats {
    this.roll(now, false)
    return { month: this.state.month, minute: this.live(now) ? this.state.minute.total : 0, monthUsed: this.state.used }
  }

  /** Records that the alert for `level` of `month` at quota `limit` went out. */
  confirmAlert(alert: Pick<UsageAlert, 'month' | 'level' | 'limit'>) {
    if (alert.month !== this.state.month) return
    const held = this.state.alerted
    if (!held || held.limit !== alert.limit || held.level < alert.level) this.state.alerted = { level: alert.level, limit: alert.limit }
    this.alertSignalled = null
    this.persist()
  }

  /** Whether the alarm has work: counts not yet in storage, or a total not yet in D1. */
  pending(): boolean {
    return !this.persisted || this.state.closing.length > 0 || this.state.used !== this.state.flushed
  }

  /** When the alarm should next run for this meter, or null. */
  nextTick(now: number): number | null {
    if (!this.persisted) return now + PERSIST_MS
    if (this.pending()) return Math.max(now, this.lastFlushAt + FLUSH_MS)
    return null
  }

  /**
   * The alarm's work: counts into the object's storage, and when FLUSH_MS has
   * passed (or a month has closed), the month totals into D1 through
   * `write`. A failed write is kept for the next tick.
   */
  async tick(now: number, write: (totals: MonthTotal[]) => Promise<void>): Promise<void> {
    this.roll(now, false)
    this.persist()
    const due = this.state.closing.length > 0 || now - this.lastFlushAt >= FLUSH_MS
    if (!due || (this.state.closing.length === 0 && this.state.used === this.state.flushed)) return
    const totals = [...this.state.closing, ...(this.state.month ? [{ month: this.state.month, used: this.state.used }] : [])]
    await write(totals)
    this.state.closing = []
    this.state.flushed = totals.at(-1)?.used ?? this.state.flushed
    this.lastFlushAt = now
    this.persist()
  }

  private persist() {
    this.kv.put('usage', this.state)
    this.persisted = true
  }

  /**
   * Starts a new minute window once the current one is over (a window opens
   * with the first request after the last one closed, and lasts 60 s), and a
   * new month when the Japan-time calendar has moved into one.
   */
  private roll(now: number, openMinute = true) {
    if (openMinute && !this.live(now)) {
      this.state.minute = { start: now, total: 0 }
      this.sessions.clear()
    }
    const month = jstMonth(now)
    if (this.state.month !== month) {
      if (this.state.month && this.state.used !== this.state.flushed) this.state.closing.push({ month: this.state.month, used: this.state.used })
      this.state.month = month
      this.state.used = 0
      this.state.flushed = 0
      this.state.alerted = null
      this.persisted = false
    }
  }

  /** Whether the minute window held is still open at `now`. */
  private live(now: number) {
    return now >= this.state.minute.start && now < this.state.minute.start + MINUTE_MS
  }

  private effective() {
    const perMinute = this.quota?.perMinute ?? PLATFORM_REQUESTS_PER_MINUTE
    return {
      minute: Math.min(perMinute, PLATFORM_REQUESTS_PER_MINUTE),
      byPlatform: perMinute > PLATFORM_REQUESTS_PER_MINUTE,
      session: Math.ceil(Math.min(perMinute, PLATFORM_REQUESTS_PER_MINUTE) * SESSION_SHARE_OF_MINUTE),
      month: this.quota?.perMonth ?? null,
    }
  }

  private refusal(q: ReturnType<UsageMeter['effective']>, mine: number, now: number) {
    const minuteLeft = (this.state.minute.start + MINUTE_MS - now) / 1000
    if (q.month !== null && this.state.used >= q.month) {
      return { scope: 'tenant-month' as const, limit: q.month, retryAfterSeconds: (nextJstMonthStart(now) - now) / 1000 }
    }
    if (this.state.minute.total >= q.minute) {
      return { scope: q.byPlatform ? ('platform' as const) : ('tenant-minute' as const), limit: q.minute, retryAfterSeconds: minuteLeft }
    }
    if (mine >= q.session) return { scope: 'session' as const, limit: q.session, retryAfterSeconds: minuteLeft }
    return null
  }

  private policies(q: ReturnType<UsageMeter['effective']>, mine: number, now: number): QuotaPolicy[] {
    const open = this.live(now)
    // A window that is over resets as soon as the next request opens one: a full minute from then.
    const reset = open ? (this.state.minute.start + MINUTE_MS - now) / 1000 : 60
    const total = open ? this.state.minute.total : 0
    const list: QuotaPolicy[] = [
      { name: q.byPlatform ? 'platform' : 'tenant-minute', quota: q.minute, windowSeconds: 60, remaining: q.minute - total, resetSeconds: reset },
      { name: 'session', quota: q.session, windowSeconds: 60, remaining: q.session - mine, resetSeconds: reset },
    ]
    if (q.month !== null) {
      const end = nextJstMonthStart(now)
      const monthStart = nextJstMonthStart(end - 40 * 86_400_000)
      list.push({
        name: 'tenant-month',
        quota: q.month,
        windowSeconds: (end - monthStart) / 1000,
        remaining: q.month - this.state.used,
        resetSeconds: (end - now) / 1000,
      })
    }
    return list
  }

  /**
   * The highest alert level the month's count has reached and that was not
   * yet confirmed sent for this quota; signalled again a minute later if
   * no confirmation came (the sender dedupes, so it still goes out once).
   */
  private alertDue(now: number): UsageAlert | null {
    const limit = this.quota?.perMonth
    if (!limit) return null
    const used = this.state.used
    const reached = [...USAGE_ALERT_LEVELS].reverse().find((level) => used * 100 >= level * limit)
    if (!reached) return null
    const held = this.state.alerted
    if (held && held.limit === limit && held.level >= reached) return null
    const key = `${this.state.month}:${reached}:${limit}`
    if (this.alertSignalled && this.alertSignalled.key === key && now - this.alertSignalled.at < ALERT_RETRY_MS) return null
    this.alertSignalled = { key, at: now }
    return { month: this.state.month, level: reached, used, limit }
  }
}
