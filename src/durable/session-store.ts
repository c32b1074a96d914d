import { DurableObject } from 'cloudflare:workers'
import { flagInForce, newerFlag, type MaintenanceFlag } from '../lib/maintenance'
import { checkSource, newerRules, type RequestSource, type SourceRules } from '../lib/source-rules'
import type { Principal } from '../schemas/principal'
import { UsageMeter, type MeterStats, type MonthTotal, type QuotaLimits, type QuotaPolicy, type QuotaScope, type UsageAlert } from './usage-meter'

export type { QuotaLimits, QuotaPolicy, QuotaScope, UsageAlert } from './usage-meter'

/** What sign-in hands the store; the token itself never leaves the service, only its hash. */
export type NewSession = Omit<Principal, 'sessionId' | 'expiresAt'> & {
  tokenHash: string
  idleMinutes: number
  absoluteMinutes: number
  ip: string | null
  userAgent: string | null
  /** Client-certificate fingerprints bound to the account when the session began. */
  certFingerprints: string[]
  /** The tenant's current source rules; sign-in refreshes the store's copy. */
  rules: SourceRules | null
  /** The plan's limit on concurrent sessions (EX-3); null: none. */
  maxSessions: number | null
  /** The policy's limit on one account's sessions; null: none. */
  maxPerAccount: number | null
  /** This store's share of the tenant's request limits; null for operators (not metered). */
  quota?: QuotaLimits | null
  /** Which shard of its tenant this store is (the D1 usage row is per shard). */
  shard?: number
  /** The tenant's maintenance flag as the sign-in read it; absent for operators. */
  maintenance?: MaintenanceFlag | null
  /**
   * The account's password version (`password_changed_at`) the session was
   * issued under: a later pull ends the session once D1 holds a newer one.
   */
  passwordVersion?: string | null
}

/**
 * A session a sign-in ended to make room: the account's own oldest (its own
 * cap, or a full tenant), or, for an admin's sign-in into a full tenant, the
 * member session unused longest.
 */
export type EvictedSession = { id: string; actorId: string; reason: 'account_limit' | 'tenant_full' | 'admin_sign_in' }

export type CreateResult =
  | { ok: true; principal: Principal; evicted: EvictedSession[] }
  | { ok: false; reason: 'session-limit'; limit: number }

export type SessionSummary = {
  id: string
  actorId: string
  kind: Principal['kind']
  createdAt: string
  lastSeenAt: string
  expiresAt: string
  ip: string | null
  userAgent: string | null
}

/**
 * Set when the session's copy of its account's state was last compared with
 * D1 more than SYNC_INTERVAL_MS ago: the caller reads the current state and
 * hands it to `refresh` along with this generation.
 */
export type Staleness = { stale?: { generation: string } }

/** The request limits as this request left them: for the RateLimit fields, and a monthly threshold just reached. */
export type QuotaInfo = { policies: QuotaPolicy[]; alert?: UsageAlert }

/** A request refused by a request limit (nothing else was checked or counted after it). */
export type Throttled = { scope: QuotaScope; limit: number; retryAfterSeconds: number; policies: QuotaPolicy[] }

/** The tenant's maintenance flag in force: the request is refused before anything else is checked or counted. */
export type InMaintenance = { principal: Principal; flag: MaintenanceFlag }

export type AuthenticateResult =
  | ({ ok: true; principal: Principal; quota?: QuotaInfo } & Staleness)
  | { ok: false; reason: 'unknown' | 'expired' }
  | ({ ok: false; reason: 'maintenance' } & InMaintenance & Staleness)
  | ({ ok: false; reason: 'throttled'; principal: Principal } & Throttled)
  | ({ ok: false; reason: 'source'; rule: 'ip' | 'certificate'; detail: string; principal: Principal } & Staleness)

/**
 * An account's state as D1 holds it, for `refresh`. `gone`: the account is
 * deleted or disabled (`account`), or its tenant suspended or gone (`store`).
 * `certFingerprints` null: the account has no certificate bindings to
 * compare (operators).
 */
export type ActorState =
  | { status: 'gone'; scope: 'account' | 'store' }
  | {
      status: 'active'
      role: Principal['role']
      permissions: string[]
      certFingerprints: string[] | null
      rules: SourceRules | null
      /** The tenant's request limits (this store's share); absent for operators. */
      quota?: QuotaLimits | null
      /** The tenant's maintenance flag; absent for operators. */
      maintenance?: MaintenanceFlag | null
      /** The account's password version (`password_changed_at`): sessions issued under an older one end. */
      passwordVersion?: string | null
    }

type SessionRow = {
  id: string
  token_hash: string
  kind: string
  actor_type: string
  actor_id: string
  tenant_id: string | null
  role: string
  permissions: string
  created_at: number
  last_seen_at: number
  idle_ms: number
  expires_at: number
  ip: string | null
  user_agent: string | null
  cert_fingerprints: string
  synced_at: number
  password_version: string | null
}

type Owner = { tenantId: string; shard: number }

/** last_seen is written at most this often, so a busy session costs one read per request, not a write. */
const TOUCH_INTERVAL_MS = 60_000

/**
 * How long a session trusts the account state it holds (role, permissions,
 * status, certificate bindings, the tenant's rules) without comparing it
 * with D1. Changes are pushed at once; this bounds how long one whose push
 * failed can stay unnoticed.
 */
export const SYNC_INTERVAL_MS = 60_000

/** Storage schema, applied in order once per object; the applied count lives in kv `schema`. */
const SCHEMA = [
  `CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    tenant_id TEXT,
    role TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    idle_ms INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ip TEXT,
    user_agent TEXT
  )`,
  'CREATE INDEX sessions_actor ON sessions (actor_id)',
  "ALTER TABLE sessions ADD COLUMN cert_fingerprints TEXT NOT NULL DEFAULT '[]'",
  // 0: sessions from before the pull existed compare their state on their next request.
  'ALTER TABLE sessions ADD COLUMN synced_at INTEGER NOT NULL DEFAULT 0',
  // NULL: a session from before password versions were kept; its creation time stands in for it.
  'ALTER TABLE sessions ADD COLUMN password_version TEXT',
]

/**
 * The sessions of one tenant shard (or of the operators). Tokens are stored
 * only as SHA-256 hashes. A session ends at the earlier of its absolute
 * expiry and `idle` after its last use; an alarm sweeps ended sessions. The
 * store also holds the tenant's source rules (IP allowlists, client
 * certificates), so every request is checked against them in the same call.
 */
export class SessionStore extends DurableObject<Env> {
  private readonly sql: SqlStorage
  private ready = false
  /** The stored source rules, read once per instance: every request is checked against them. */
  private cachedRules: SourceRules | null | undefined
  /** The tenant's maintenance flag, read once per instance like the rules. */
  private cachedFlag: MaintenanceFlag | null | undefined
  /**
   * Counts the pushes that changed an account's sessions (and the store's
   * wholesale ends), in memory: a pull whose D1 read overlapped such a push
   * read older state than the push brought, so it must not overwrite it.
   */
  private readonly pushes = new Map<string, number>()
  private storePushes = 0
  /**
   * Requests of this tenant shard: counted here because every authenticated
   * request already makes this one call (no second object, no D1 write per
   * request). Operators' stores hold no tenant and count nothing.
   */
  private meter: UsageMeter
  /** Whether an alarm is already set that will run the meter's tick. */
  private tickArmed = false

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.sql = ctx.storage.sql
    this.meter = new UsageMeter(ctx.storage.kv)
  }

  /**
   * Whether this store has ever held a session. Read paths check this instead
   * of creating storage, so a forged token naming a made-up tenant leaves
   * nothing behind.
   */
  private hasTable(): boolean {
    if (!this.ready && (this.ctx.storage.kv.get<number>('schema') ?? 0) > 0) {
      this.migrate()
      this.ready = true
    }
    return this.ready
  }

  private migrate() {
    const applied = this.ctx.storage.kv.get<number>('schema') ?? 0
    if (applied >= SCHEMA.length) return
    this.ctx.storage.transactionSync(() => {
      for (const statement of SCHEMA.slice(applied)) this.sql.exec(statement)
      this.ctx.storage.kv.put('schema', SCHEMA.length)
    })
  }

  private rules(): SourceRules | null {
    if (this.cachedRules === undefined) this.cachedRules = this.ctx.storage.kv.get<SourceRules>('rules') ?? null
    return this.cachedRules
  }

  private maintenanceFlag(): MaintenanceFlag | null {
    if (this.cachedFlag === undefined) this.cachedFlag = this.ctx.storage.kv.get<MaintenanceFlag>('maintenance') ?? null
    return this.cachedFlag
  }

  private keepFlag(flag: MaintenanceFlag) {
    if (!newerFlag(flag, this.maintenanceFlag())) return
    this.ctx.storage.kv.put('maintenance', flag)
    this.cachedFlag = flag
  }

  /**
   * Replaces the tenant's maintenance flag every later request is checked
   * against, unless it holds a newer one. A store that never held a session
   * keeps nothing (its first sign-in brings the flag), so a push to every
   * tenant creates no storage.
   */
  async setMaintenance(flag: MaintenanceFlag): Promise<void> {
    if (!this.hasTable()) return
    this.keepFlag(flag)
  }

  /** Replaces the source rules every later request is checked against, unless it holds newer ones. */
  async setRules(rules: SourceRules): Promise<void> {
    if (!newerRules(rules, this.rules())) return
    this.ctx.storage.kv.put('rules', rules)
    this.cachedRules = rules
  }

  /**
   * Stores a new session and returns the principal it stands for. Room is
   * made, in one synchronous step so racing sign-ins cannot overshoot:
   * an account at its own cap, or holding a session of a full tenant, ends
   * its own oldest session; an admin signing in to a full tenant ends the
   * member session unused longest, so members can never lock every admin
   * out. Only when the tenant is full and none of that applies (the new
   * account holds no session, and it is a member, or every session is an
   * admin's) is the sign-in refused, and then nothing is stored or ended.
   */
  async create(id: string, input: NewSession): Promise<CreateResult> {
    if (!this.ready) {
      this.migrate()
      this.ready = true
    }
    if (input.rules) await this.setRules(input.rules)
    if (input.quota) this.meter.setLimits(input.quota)
    if (input.maintenance) this.keepFlag(input.maintenance)
    if (input.tenantId !== null && !this.ctx.storage.kv.get('owner')) this.ctx.storage.kv.put<Owner>('owner', { tenantId: input.tenantId, shard: input.shard ?? 0 })
    const now = Date.now()
    this.sql.exec('DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at + idle_ms <= ?', now, now)
    const live = this.sql
      .exec<Pick<SessionRow, 'id' | 'actor_id' | 'role' | 'created_at' | 'last_seen_at'>>(
        'SELECT id, actor_id, role, created_at, last_seen_at FROM sessions ORDER BY created_at, id',
      )
      .toArray()
    const own = live.filter((r) => r.actor_id === input.actorId)
    const evicted: EvictedSession[] = []
    const evict = (row: (typeof live)[number], reason: EvictedSession['reason']) => {
      evicted.push({ id: row.id, actorId: row.actor_id, reason })
      live.splice(live.indexOf(row), 1)
    }
    if (input.maxPerAccount !== null) {
      while (own.length >= input.maxPerAccount) evict(own.shift()!, 'account_limit')
    }
    if (input.maxSessions !== null && live.length >= input.maxSessions) {
      const oldestOwn = own.shift()
      const idlestMember = live
        .filter((r) => r.role === 'member')
        .sort((a, b) => a.last_seen_at - b.last_seen_at || a.created_at - b.created_at)[0]
      if (oldestOwn) evict(oldestOwn, 'tenant_full')
      else if (input.role === 'admin' && idlestMember) evict(idlestMember, 'admin_sign_in')
      // The plan may have been lowered below the sessions in use: never end more than one other's to make room.
      if (live.length >= input.maxSessions) return { ok: false, reason: 'session-limit', limit: input.maxSessions }
    }
    for (const gone of evicted) this.sql.exec('DELETE FROM sessions WHERE id = ?', gone.id)
    const expiresAt = now + input.absoluteMinutes * 60_000
    this.sql.exec(
      `INSERT INTO sessions (id, token_hash, kind, actor_type, actor_id, tenant_id, role, permissions,
        created_at, last_seen_at, idle_ms, expires_at, ip, user_agent, cert_fingerprints, synced_at, password_version)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      id,
      input.tokenHash,
      input.kind,
      input.actorType,
      input.actorId,
      input.tenantId,
      input.role,
      JSON.stringify(input.permissions),
      now,
      now,
      input.idleMinutes * 60_000,
      expiresAt,
      input.ip,
      input.userAgent,
      JSON.stringify(input.certFingerprints),
      // The sign-in just read the account.
      now,
      input.passwordVersion ?? null,
    )
    await this.scheduleSweep(Math.min(expiresAt, now + input.idleMinutes * 60_000))
    return { ok: true, principal: toPrincipal(this.sql.exec<SessionRow>('SELECT * FROM sessions WHERE id = ?', id).one(), now), evicted }
  }

  /** Gives an account's live sessions its new role and permissions, effective on their next request. */
  async updateActor(actorId: string, role: Principal['role'], permissions: string[]): Promise<number> {
    if (!this.hasTable()) return 0
    this.pushed(actorId)
    return this.sql
      .exec('UPDATE sessions SET role = ?, permissions = ? WHERE actor_id = ? RETURNING id', role, JSON.stringify(permissions), actorId)
      .toArray().length
  }

  /**
   * Resolves a token hash to its principal and checks the request's source
   * against the tenant's rules for the session's role. Slides the idle window.
   * When the session's account state is due for comparison with D1, says so
   * (`stale`): the answer still stands on the state held until `refresh`.
   */
  async authenticate(tokenHash: string, source: RequestSource): Promise<AuthenticateResult> {
    return this.check(tokenHash, source, true)
  }

  /**
   * Lays an account's current state from D1 over its sessions here, then
   * answers as `authenticate` does. A disabled or deleted account (or a
   * suspended tenant) ends its sessions; changed role or permissions are
   * taken over; a changed certificate binding ends the sessions that began
   * under the old one; a newer password ends the sessions issued under an
   * older one (a change or reset whose "end the other sessions" push was
   * lost); newer source rules replace the held ones. The account
   * part is skipped when a push for it landed since `generation` (it brought
   * newer state than this read); the session then stays due.
   */
  async refresh(tokenHash: string, source: RequestSource, state: ActorState, generation: string): Promise<AuthenticateResult> {
    if (!this.hasTable()) return { ok: false, reason: 'unknown' }
    const row = this.sql.exec<SessionRow>('SELECT * FROM sessions WHERE token_hash = ?', tokenHash).toArray()[0]
    if (!row) return { ok: false, reason: 'unknown' }
    if (state.status === 'active' && state.rules) await this.setRules(state.rules)
    if (state.status === 'active' && state.quota) this.meter.setLimits(state.quota)
    if (state.status === 'active' && state.maintenance) this.keepFlag(state.maintenance)
    if (generation === this.generationOf(row.actor_id)) this.apply(row.actor_id, state, Date.now())
    return this.check(tokenHash, source, false)
  }

  /** Replaces this store's share of the tenant's request limits, unless it holds newer ones. */
  async setQuota(limits: QuotaLimits): Promise<void> {
    this.meter.setLimits(limits)
  }

  /** This shard's counts and live sessions, for the usage document. */
  async usage(): Promise<MeterStats & { sessions: number }> {
    const now = Date.now()
    const sessions = this.hasTable()
      ? this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM sessions WHERE expires_at > ? AND last_seen_at + idle_ms > ?', now, now).one().n
      : 0
    return { ...this.meter.stats(now), sessions }
  }

  /** The alert mail for a monthly threshold went out: do not signal it again this month. */
  async confirmUsageAlert(alert: Pick<UsageAlert, 'month' | 'level' | 'limit'>): Promise<void> {
    this.meter.confirmAlert(alert)
  }

  private apply(actorId: string, state: ActorState, now: number) {
    if (state.status === 'gone') {
      if (state.scope === 'store') this.sql.exec('DELETE FROM sessions')
      else this.sql.exec('DELETE FROM sessions WHERE actor_id = ?', actorId)
      return
    }
    if (state.passwordVersion) {
      // ISO timestamps of one format order as strings; the one session that made a change was given its version.
      this.sql.exec(
        'DELETE FROM sessions WHERE actor_id = ? AND (password_version < ? OR (password_version IS NULL AND created_at < ?))',
        actorId,
        state.passwordVersion,
        Date.parse(state.passwordVersion),
      )
    }
    if (state.certFingerprints) {
      const bound = canonicalFingerprints(state.certFingerprints)
      for (const r of this.sql.exec<Pick<SessionRow, 'id' | 'cert_fingerprints'>>('SELECT id, cert_fingerprints FROM sessions WHERE actor_id = ?', actorId)) {
        if (canonicalFingerprints(JSON.parse(r.cert_fingerprints)) !== bound) this.sql.exec('DELETE FROM sessions WHERE id = ?', r.id)
      }
    }
    this.sql.exec(
      'UPDATE sessions SET role = ?, permissions = ?, synced_at = ? WHERE actor_id = ?',
      state.role,
      JSON.stringify(state.permissions),
      now,
      actorId,
    )
  }

  /**
   * The session check. `count`: this is the request's one call, so it is
   * counted against the request limits (and refused when one is reached);
   * the second call of a due session only reports the counts.
   */
  private async check(tokenHash: string, source: RequestSource, count: boolean): Promise<AuthenticateResult> {
    const mayBeStale = count
    if (!this.hasTable()) return { ok: false, reason: 'unknown' }
    const row = this.sql.exec<SessionRow>('SELECT * FROM sessions WHERE token_hash = ?', tokenHash).toArray()[0]
    if (!row) return { ok: false, reason: 'unknown' }
    const now = Date.now()
    if (now >= sessionEnd(row)) {
      this.sql.exec('DELETE FROM sessions WHERE id = ?', row.id)
      return { ok: false, reason: 'expired' }
    }
    const principal = toPrincipal(row, now)
    const stale = mayBeStale && now - row.synced_at >= SYNC_INTERVAL_MS ? { stale: { generation: this.generationOf(row.actor_id) } } : {}
    // First, and not counted: a tenant in maintenance is served nothing, and a due session still pulls (that is how a lost "off" heals).
    const flag = this.maintenanceFlag()
    if (flagInForce(flag, now)) return { ok: false, reason: 'maintenance', principal, flag, ...stale }
    const rules = this.rules()
    if (rules) {
      const verdict = checkSource(rules, row.role, source, JSON.parse(row.cert_fingerprints))
      if (!verdict.ok) return { ok: false, reason: 'source', rule: verdict.rule, detail: verdict.detail, principal, ...stale }
    }
    let quota: QuotaInfo | undefined
    if (row.tenant_id !== null) {
      if (!count) quota = { policies: this.meter.peek(row.id, now) }
      else {
        const verdict = this.meter.count(row.id, now)
        if (!verdict.ok) return { reason: 'throttled', principal, ...verdict }
        quota = { policies: verdict.policies, ...(verdict.alert ? { alert: verdict.alert } : {}) }
        await this.armTick(now)
      }
    }
    if (now - row.last_seen_at >= TOUCH_INTERVAL_MS) {
      this.sql.exec('UPDATE sessions SET last_seen_at = ? WHERE id = ?', now, row.id)
    }
    return { ok: true, principal, ...(quota ? { quota } : {}), ...stale }
  }

  /**
   * Which tenant shard this store is, as its first sign-in recorded it. A
   * store from before that was recorded learns it from its sessions; every
   * such store is shard 0, the only shard tokens have ever named.
   */
  private owner(): Owner | null {
    const held = this.ctx.storage.kv.get<Owner>('owner')
    if (held) return held
    const tenantId = this.hasTable()
      ? this.sql.exec<{ tenant_id: string | null }>('SELECT tenant_id FROM sessions WHERE tenant_id IS NOT NULL LIMIT 1').toArray()[0]?.tenant_id
      : undefined
    if (!tenantId) return null
    const owner = { tenantId, shard: 0 }
    this.ctx.storage.kv.put<Owner>('owner', owner)
    return owner
  }

  /** Makes sure an alarm will move fresh counts into storage (and D1); at most one storage call per tick. */
  private async armTick(now: number) {
    if (this.tickArmed) return
    const at = this.meter.nextTick(now)
    if (at === null) return
    this.tickArmed = true
    await this.scheduleSweep(at)
  }

  /** Writes this shard's month totals to D1 (tenant_usage), never lowering one; skipped once the tenant is gone. */
  private async flushUsage(totals: MonthTotal[]) {
    const owner = this.owner()
    if (!owner) return
    const { tenantId, shard } = owner
    const at = new Date().toISOString()
    await this.env.DB.batch(
      totals.map((t) =>
        this.env.DB.prepare(
          `INSERT INTO tenant_usage (tenant_id, month, shard, requests, updated_at)
           SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM tenants WHERE id = ?1)
           ON CONFLICT (tenant_id, month, shard) DO UPDATE SET requests = max(requests, excluded.requests), updated_at = excluded.updated_at`,
        ).bind(tenantId, t.month, shard, t.used, at),
      ),
    )
  }

  private pushed(actorId: string | null) {
    if (actorId === null) this.storePushes++
    else this.pushes.set(actorId, (this.pushes.get(actorId) ?? 0) + 1)
  }

  private generationOf(actorId: string) {
    return `${this.storePushes}:${this.pushes.get(actorId) ?? 0}`
  }

  /**
   * Makes a session full with new lifetimes counted from now; null if it is
   * gone. `passwordVersion`: the password the session itself just set, so a
   * later pull does not end it with the sessions issued under the old one.
   */
  async upgrade(sessionId: string, limits: { idleMinutes: number; absoluteMinutes: number }, passwordVersion: string | null = null): Promise<Principal | null> {
    if (!this.hasTable()) return null
    const now = Date.now()
    const row = this.sql
      .exec<SessionRow>(
        `UPDATE sessions SET kind = 'full', idle_ms = ?, expires_at = ?, last_seen_at = ?, password_version = coalesce(?, password_version)
         WHERE id = ? AND min(expires_at, last_seen_at + idle_ms) > ? RETURNING *`,
        limits.idleMinutes * 60_000,
        now + limits.absoluteMinutes * 60_000,
        now,
        passwordVersion,
        sessionId,
        now,
      )
      .toArray()[0]
    if (!row) return null
    await this.scheduleSweep(now + limits.idleMinutes * 60_000)
    return toPrincipal(row, now)
  }

  /** Ends one session by id, optionally only if it belongs to `actorId`. Returns whether it existed. */
  async revoke(sessionId: string, actorId: string | null = null): Promise<boolean> {
    if (!this.hasTable()) return false
    return (
      this.sql
        .exec('DELETE FROM sessions WHERE id = ? AND (? IS NULL OR actor_id = ?) RETURNING id', sessionId, actorId, actorId)
        .toArray().length > 0
    )
  }

  /** Ends every session of one account, optionally sparing one. Returns how many ended. */
  async revokeActor(actorId: string, exceptSessionId: string | null = null): Promise<number> {
    if (!this.hasTable()) return 0
    this.pushed(actorId)
    return this.sql
      .exec('DELETE FROM sessions WHERE actor_id = ? AND id IS NOT ? RETURNING id', actorId, exceptSessionId)
      .toArray().length
  }

  /** Ends every session in this store (tenant suspended or terminated). */
  async revokeAll(): Promise<number> {
    if (!this.hasTable()) return 0
    this.pushed(null)
    return this.sql.exec('DELETE FROM sessions RETURNING id').toArray().length
  }

  /** Live sessions, newest first; all of them, or one account's. */
  async list(actorId: string | null = null): Promise<SessionSummary[]> {
    if (!this.hasTable()) return []
    const now = Date.now()
    const rows = this.sql
      .exec<SessionRow>('SELECT * FROM sessions WHERE (? IS NULL OR actor_id = ?) ORDER BY created_at DESC', actorId, actorId)
      .toArray()
    return rows
      .filter((r) => now < sessionEnd(r))
      .map((r) => ({
        id: r.id,
        actorId: r.actor_id,
        kind: r.kind as Principal['kind'],
        createdAt: new Date(r.created_at).toISOString(),
        lastSeenAt: new Date(r.last_seen_at).toISOString(),
        expiresAt: new Date(sessionEnd(r)).toISOString(),
        ip: r.ip,
        userAgent: r.user_agent,
      }))
  }

  /** Liveness probe for /health/ready: proves the object and its storage answer. */
  async ping(): Promise<number> {
    return this.ctx.storage.kv.get<number>('schema') ?? 0
  }

  /**
   * Sweeps ended sessions, and moves the request counts into storage and D1
   * (UsageMeter.tick). One alarm serves both: it is set for whichever is due first.
   */
  override async alarm(): Promise<void> {
    const now = Date.now()
    let next: number | null = null
    if (this.hasTable()) {
      this.sql.exec('DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at + idle_ms <= ?', now, now)
      next = this.sql
        .exec<{ at: number | null }>('SELECT min(min(expires_at, last_seen_at + idle_ms)) AS at FROM sessions')
        .one().at
    }
    this.tickArmed = false
    try {
      await this.meter.tick(now, (totals) => this.flushUsage(totals))
    } catch (error) {
      // D1 unreachable: the totals stay pending and the next tick writes them.
      console.error(JSON.stringify({ level: 'error', msg: 'usage flush failed', error: error instanceof Error ? error.name : 'unknown' }))
    }
    const tick = this.meter.nextTick(Date.now())
    if (tick !== null) {
      this.tickArmed = true
      next = next === null ? tick : Math.min(next, tick)
    }
    if (next !== null) await this.ctx.storage.setAlarm(next)
  }

  private async scheduleSweep(at: number) {
    const current = await this.ctx.storage.getAlarm()
    if (current === null || at < current) await this.ctx.storage.setAlarm(at)
  }

  /**
   * Termination (DM-7): forgets everything this store holds (sessions, source
   * rules, the request meter, the owner) and its alarm, so no later tick
   * writes usage back. The instance's memory starts over as if new.
   */
  async eraseAll(): Promise<void> {
    await this.ctx.storage.deleteAlarm()
    await this.ctx.storage.deleteAll()
    this.ready = false
    this.cachedRules = undefined
    this.pushes.clear()
    this.storePushes++
    this.tickArmed = false
    this.meter = new UsageMeter(this.ctx.storage.kv)
  }
}

function canonicalFingerprints(list: string[]): string {
  return JSON.stringify([...new Set(list.map((f) => f.toLowerCase()))].sort())
}

function sessionEnd(row: SessionRow): number {
  return Math.min(row.expires_at, row.last_seen_at + row.idle_ms)
}

function toPrincipal(row: SessionRow, now: number): Principal {
  return {
    sessionId: row.id,
    actorType: row.actor_type as Principal['actorType'],
    actorId: row.actor_id,
    tenantId: row.tenant_id,
    role: row.role as Principal['role'],
    permissions: JSON.parse(row.permissions),
    kind: row.kind as Principal['kind'],
    expiresAt: new Date(Math.min(row.expires_at, Math.max(now, row.last_seen_at) + row.idle_ms)).toISOString(),
  }
}

/**
 * Which store holds a session. Tenant sessions are keyed per shard so a large
 * tenant can later spread over several objects (the token already names its
 * shard); `probe` is the empty store the readiness check talks to.
 */
export type SessionScope =
  | { kind: 'tenant'; tenantId: string; shard: number }
  | { kind: 'operators'; shard: number }
  | { kind: 'probe' }

function storeName(scope: SessionScope): string {
  switch (scope.kind) {
    case 'tenant':
      return `tenant:${scope.tenantId}:sessions:${scope.shard}`
    case 'operators':
      return `operators:sessions:${scope.shard}`
    case 'probe':
      return 'health:probe'
  }
}

export function sessionStoreFor(env: Pick<Env, 'SESSIONS'>, scope: SessionScope) {
  return env.SESSIONS.get(env.SESSIONS.idFromName(storeName(scope)))
}
