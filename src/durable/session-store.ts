import { DurableObject } from 'cloudflare:workers'
import { checkSource, newerRules, type RequestSource, type SourceRules } from '../lib/source-rules'
import type { Principal } from '../schemas/principal'

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
}

export type CreateResult = { ok: true; principal: Principal } | { ok: false; reason: 'session-limit'; limit: number }

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

export type AuthenticateResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'unknown' | 'expired' }
  | { ok: false; reason: 'source'; rule: 'ip' | 'certificate'; detail: string; principal: Principal }

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
}

/** last_seen is written at most this often, so a busy session costs one read per request, not a write. */
const TOUCH_INTERVAL_MS = 60_000

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

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.sql = ctx.storage.sql
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

  /** Replaces the source rules every later request is checked against, unless it holds newer ones. */
  async setRules(rules: SourceRules): Promise<void> {
    if (!newerRules(rules, this.rules())) return
    this.ctx.storage.kv.put('rules', rules)
    this.cachedRules = rules
  }

  /**
   * Stores a new session and returns the principal it stands for, unless the
   * plan's concurrent sessions are all in use: then nothing is stored (no
   * other session is silently dropped to make room).
   */
  async create(id: string, input: NewSession): Promise<CreateResult> {
    if (!this.ready) {
      this.migrate()
      this.ready = true
    }
    if (input.rules) await this.setRules(input.rules)
    const now = Date.now()
    if (input.maxSessions !== null) {
      const live = this.sql
        .exec<{ n: number }>('SELECT count(*) AS n FROM sessions WHERE expires_at > ? AND last_seen_at + idle_ms > ?', now, now)
        .one().n
      if (live >= input.maxSessions) return { ok: false, reason: 'session-limit', limit: input.maxSessions }
    }
    const expiresAt = now + input.absoluteMinutes * 60_000
    this.sql.exec(
      `INSERT INTO sessions (id, token_hash, kind, actor_type, actor_id, tenant_id, role, permissions,
        created_at, last_seen_at, idle_ms, expires_at, ip, user_agent, cert_fingerprints)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    )
    await this.scheduleSweep(Math.min(expiresAt, now + input.idleMinutes * 60_000))
    return { ok: true, principal: toPrincipal(this.sql.exec<SessionRow>('SELECT * FROM sessions WHERE id = ?', id).one(), now) }
  }

  /** Gives an account's live sessions its new role and permissions, effective on their next request. */
  async updateActor(actorId: string, role: Principal['role'], permissions: string[]): Promise<number> {
    if (!this.hasTable()) return 0
    return this.sql
      .exec('UPDATE sessions SET role = ?, permissions = ? WHERE actor_id = ? RETURNING id', role, JSON.stringify(permissions), actorId)
      .toArray().length
  }

  /**
   * Resolves a token hash to its principal and checks the request's source
   * against the tenant's rules for the session's role. Slides the idle window.
   */
  async authenticate(tokenHash: string, source: RequestSource): Promise<AuthenticateResult> {
    if (!this.hasTable()) return { ok: false, reason: 'unknown' }
    const row = this.sql.exec<SessionRow>('SELECT * FROM sessions WHERE token_hash = ?', tokenHash).toArray()[0]
    if (!row) return { ok: false, reason: 'unknown' }
    const now = Date.now()
    if (now >= sessionEnd(row)) {
      this.sql.exec('DELETE FROM sessions WHERE id = ?', row.id)
      return { ok: false, reason: 'expired' }
    }
    const principal = toPrincipal(row, now)
    const rules = this.rules()
    if (rules) {
      const verdict = checkSource(rules, row.role, source, JSON.parse(row.cert_fingerprints))
      if (!verdict.ok) return { ok: false, reason: 'source', rule: verdict.rule, detail: verdict.detail, principal }
    }
    if (now - row.last_seen_at >= TOUCH_INTERVAL_MS) {
      this.sql.exec('UPDATE sessions SET last_seen_at = ? WHERE id = ?', now, row.id)
    }
    return { ok: true, principal }
  }

  /** Makes a session full with new lifetimes counted from now; null if it is gone. */
  async upgrade(sessionId: string, limits: { idleMinutes: number; absoluteMinutes: number }): Promise<Principal | null> {
    if (!this.hasTable()) return null
    const now = Date.now()
    const row = this.sql
      .exec<SessionRow>(
        `UPDATE sessions SET kind = 'full', idle_ms = ?, expires_at = ?, last_seen_at = ?
         WHERE id = ? AND min(expires_at, last_seen_at + idle_ms) > ? RETURNING *`,
        limits.idleMinutes * 60_000,
        now + limits.absoluteMinutes * 60_000,
        now,
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
    return this.sql
      .exec('DELETE FROM sessions WHERE actor_id = ? AND id IS NOT ? RETURNING id', actorId, exceptSessionId)
      .toArray().length
  }

  /** Ends every session in this store (tenant suspended or terminated). */
  async revokeAll(): Promise<number> {
    if (!this.hasTable()) return 0
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

  override async alarm(): Promise<void> {
    if (!this.hasTable()) return
    const now = Date.now()
    this.sql.exec('DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at + idle_ms <= ?', now, now)
    const next = this.sql
      .exec<{ at: number | null }>('SELECT min(min(expires_at, last_seen_at + idle_ms)) AS at FROM sessions')
      .one().at
    if (next !== null) await this.ctx.storage.setAlarm(next)
  }

  private async scheduleSweep(at: number) {
    const current = await this.ctx.storage.getAlarm()
    if (current === null || at < current) await this.ctx.storage.setAlarm(at)
  }
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
