import { database } from '../../db/client'
import {
  sessionStoreFor,
  type ActorState,
  type AuthenticateResult,
  type EvictedSession,
  type NewSession,
  type QuotaLimits,
  type SessionScope,
  type UsageAlert,
} from '../../durable/session-store'
import { randomBytes, sha256Hex } from '../../lib/digest'
import { toBase64Url } from '../../lib/encoding'
import { newId } from '../../lib/ids'
import type { MaintenanceFlag } from '../../lib/maintenance'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import type { RequestSource, SourceRules } from '../../lib/source-rules'
import type { Principal } from '../../schemas/principal'
import { audit } from '../audit/audit'
import { tenantLimits, type TenantLimits } from '../tenancy/limits'
import { tenantFlag } from '../operations/tenant-flag-row'

/** Lifetimes for operators, and for a password-change-only session; tenant sessions follow the tenant policy. */
export const SESSION_LIMITS = {
  idleMinutes: 30,
  absoluteMinutes: 12 * 60,
  /** A password-change-only session is short: it exists to finish one form. */
  passwordChangeMinutes: 10,
} as const

/**
 * Token layout: `mt1.<tenant id>.<shard>.<secret>` for tenant users and
 * `mo1.<shard>.<secret>` for operators. The prefix routes the token to its
 * session store without a database read; the 256-bit secret is what makes it
 * unguessable. Only SHA-256(token) is stored.
 */
const TENANT_TOKEN = /^mt1\.(tn_[0-9a-z]{26})\.(\d{1,3})\.([A-Za-z0-9_-]{43})$/
const OPERATOR_TOKEN = /^mo1\.(\d{1,3})\.([A-Za-z0-9_-]{43})$/

/**
 * Whether a bearer token has the shape of a session token (no I/O). Such a
 * request to a signed-in route is metered by its session store; every other
 * request counts against the per-address ceiling instead.
 */
export function looksLikeSessionToken(token: string | null): boolean {
  return token !== null && (TENANT_TOKEN.test(token) || OPERATOR_TOKEN.test(token))
}

/** Shards per tenant. One today; tokens name their shard so this can grow without re-issuing them. */
const SHARDS = 1
export const SESSION_SHARDS = SHARDS
const SHARD = 0

/**
 * One store's share of a tenant's request limits. Each shard counts the
 * requests of its own sessions (the one call every request makes) and
 * enforces 1/SHARDS of the tenant's limits, rounded up. With one shard, as
 * today, that is the tenant's exact count. With S shards a tenant is never
 * served more than its limit plus S-1, and is refused early only when its
 * traffic sits unevenly on the shards (few, very busy sessions); should that
 * matter, a shard that runs out would borrow from a per-tenant counter
 * object, called only then, instead of refusing.
 */
export function quotaShare(limits: {
  inForce: Pick<TenantLimits['inForce'], 'requests_per_minute' | 'requests_per_month'>
  version: string
}): QuotaLimits {
  return {
    perMinute: Math.ceil(limits.inForce.requests_per_minute / SHARDS),
    perMonth: Math.ceil(limits.inForce.requests_per_month / SHARDS),
    version: limits.version,
  }
}

export type SessionRequest = Omit<
  NewSession,
  'tokenHash' | 'idleMinutes' | 'absoluteMinutes' | 'certFingerprints' | 'rules' | 'maxSessions' | 'maxPerAccount' | 'quota' | 'shard' | 'maintenance'
> & {
  idleMinutes?: number
  absoluteMinutes?: number
  certFingerprints?: string[]
  rules?: SourceRules | null
  maxSessions?: number | null
  /** The policy's `sessions_per_account`; null or absent: no cap. */
  maxPerAccount?: number | null
  /** The sign-in request, for the audit events of sessions ended to make room. */
  meta: RequestMeta
  /** The new session's id when the caller already named it (in an event committed before the session exists). */
  sessionId?: string
}

export type IssuedSession = { token: string; principal: Principal; evicted: EvictedSession[] }

function scopeOf(principal: { tenantId: string | null }): SessionScope {
  return principal.tenantId === null
    ? { kind: 'operators', shard: SHARD }
    : { kind: 'tenant', tenantId: principal.tenantId, shard: SHARD }
}

/**
 * Creates a session and returns its bearer token, shown to the caller once.
 * An account at its `maxPerAccount` cap, or holding a session when the
 * plan's sessions are all in use, gives up its own oldest session; an
 * admin's sign-in to a full tenant ends the member session unused longest
 * (see SessionStore.create). Each ended session is audited as
 * `session.evicted`. Otherwise, when the plan's sessions are all in use,
 * answers 409 `session-limit` and creates nothing.
 */
export async function issueSession(env: Env, { meta, sessionId = newId('ses'), ...request }: SessionRequest): Promise<IssuedSession> {
  const secret = toBase64Url(randomBytes(32))
  const token = request.tenantId === null ? `mo1.${SHARD}.${secret}` : `mt1.${request.tenantId}.${SHARD}.${secret}`
  const limits =
    request.kind === 'password_change'
      ? { idle: SESSION_LIMITS.passwordChangeMinutes, absolute: SESSION_LIMITS.passwordChangeMinutes }
      : {
          idle: request.idleMinutes ?? SESSION_LIMITS.idleMinutes,
          absolute: request.absoluteMinutes ?? SESSION_LIMITS.absoluteMinutes,
        }
  // The store counts this tenant's requests from the first one on, so the sign-in brings it the limits in force,
  // and the maintenance flag as D1 holds it (a lost "off" push must not refuse the new session for a minute).
  const [tenant, maintenance] =
    request.tenantId === null ? [null, null] : await Promise.all([tenantLimits(database(env), request.tenantId), tenantFlag(database(env), request.tenantId)])
  const created = await sessionStoreFor(env, scopeOf(request)).create(sessionId, {
    ...request,
    quota: tenant ? quotaShare(tenant) : null,
    maintenance,
    shard: SHARD,
    tokenHash: await sha256Hex(token),
    idleMinutes: limits.idle,
    absoluteMinutes: limits.absolute,
    certFingerprints: request.certFingerprints ?? [],
    rules: request.rules ?? null,
    maxSessions: request.maxSessions ?? null,
    maxPerAccount: request.maxPerAccount ?? null,
  })
  if (!created.ok) {
    throw Problem.conflict(
      `Your organisation’s plan allows ${created.limit} signed-in sessions at once, and all are in use. Sign out elsewhere, or ask an admin to end a session.`,
      'session-limit',
    )
  }
  for (const gone of created.evicted) {
    await audit(env, meta, {
      tenantId: request.tenantId,
      actor: { type: request.actorType, id: request.actorId },
      action: 'session.evicted',
      target: { type: 'session', id: gone.id },
      outcome: 'success',
      details: { reason: gone.reason, user_id: gone.actorId, by_session: created.principal.sessionId },
    })
  }
  return { token, principal: created.principal, evicted: created.evicted }
}

/** Where a token's session lives and the hash it is stored under; null for a token of the wrong shape. */
async function locate(token: string): Promise<{ scope: SessionScope; hash: string } | null> {
  const tenant = TENANT_TOKEN.exec(token)
  const operator = tenant ? null : OPERATOR_TOKEN.exec(token)
  let scope: SessionScope
  if (tenant) scope = { kind: 'tenant', tenantId: tenant[1]!, shard: Number(tenant[2]) }
  else if (operator) scope = { kind: 'operators', shard: Number(operator[1]) }
  else return null
  // A forged shard number must not conjure up a new Durable Object.
  if (scope.shard >= SHARDS) return null
  return { scope, hash: await sha256Hex(token) }
}

/** Whether a token is shaped to reach a session store (so an unknown one woke a Durable Object). */
export function reachesSessionStore(token: string): boolean {
  const tenant = TENANT_TOKEN.exec(token)
  const shard = tenant ? Number(tenant[2]) : Number(OPERATOR_TOKEN.exec(token)?.[1] ?? SHARDS)
  return shard < SHARDS
}

/**
 * Resolves a bearer token to its principal, checking the request's source
 * against the tenant's rules in the same call. A token of the wrong shape
 * never reaches a Durable Object. The answer may say the session is due
 * for comparison with D1 (`stale`; see session-check.ts).
 */
export async function authenticateToken(env: Env, token: string, source: RequestSource): Promise<AuthenticateResult> {
  const found = await locate(token)
  if (!found) return { ok: false, reason: 'unknown' }
  return sessionStoreFor(env, found.scope).authenticate(found.hash, source)
}

/** Hands the session store the account state just read from D1, and answers as authenticateToken does. */
export async function refreshSession(
  env: Env,
  token: string,
  source: RequestSource,
  state: ActorState,
  generation: string,
): Promise<AuthenticateResult> {
  const found = await locate(token)
  if (!found) return { ok: false, reason: 'unknown' }
  return sessionStoreFor(env, found.scope).refresh(found.hash, source, state, generation)
}

/**
 * Every shard of one scope's session store (a tenant's, or the operators').
 * Anything that must reach all of an account's or tenant's sessions goes
 * through this, so raising SHARDS cannot leave a shard behind.
 */
function everyShard(tenantId: string | null) {
  return Array.from({ length: SHARDS }, (_, shard): SessionScope =>
    tenantId === null ? { kind: 'operators', shard } : { kind: 'tenant', tenantId, shard },
  )
}

async function onEveryShard<T>(env: Env, tenantId: string | null, work: (store: ReturnType<typeof sessionStoreFor>) => Promise<T>) {
  return Promise.all(everyShard(tenantId).map((scope) => work(sessionStoreFor(env, scope))))
}

/**
 * Sends a tenant's new request limits to every shard (after an override or a
 * plan change). A failed push heals within a minute: each session's periodic
 * pull brings the limits too (session-check.ts).
 */
export async function pushTenantQuota(env: Env, limits: TenantLimits): Promise<void> {
  const share = quotaShare(limits)
  await onEveryShard(env, limits.tenantId, (store) => store.setQuota(share))
}

/** A tenant's request counts and live sessions, summed over its shards. */
export async function tenantSessionUsage(env: Env, tenantId: string) {
  const shards = await onEveryShard(env, tenantId, (store) => store.usage())
  return {
    minute: shards.reduce((n, s) => n + s.minute, 0),
    monthUsed: shards.reduce((n, s) => n + s.monthUsed, 0),
    sessions: shards.reduce((n, s) => n + s.sessions, 0),
  }
}

/** Tells every shard that a monthly usage mail went out, so none signals it again. */
export async function confirmUsageAlert(env: Env, tenantId: string, alert: Pick<UsageAlert, 'month' | 'level' | 'limit'>) {
  await onEveryShard(env, tenantId, (store) => store.confirmUsageAlert(alert))
}

/**
 * Sends a tenant's maintenance flag to every shard of its session store
 * (after an operator's PUT or a window's start or end). A failed push heals
 * within a minute: each session's periodic pull brings the flag too.
 */
export async function pushTenantMaintenance(env: Env, tenantId: string, flag: MaintenanceFlag): Promise<void> {
  await onEveryShard(env, tenantId, (store) => store.setMaintenance(flag))
}

/** Sends a tenant's new source rules to every shard of its session store. */
export async function pushSourceRules(env: Env, tenantId: string, rules: SourceRules): Promise<void> {
  await onEveryShard(env, tenantId, (store) => store.setRules(rules))
}

/**
 * Turns the caller's session into a full one with fresh lifetimes (after a
 * password change), issued under `passwordVersion` (the new password's
 * `password_changed_at`). Returns null if it ended meanwhile.
 */
export async function upgradeSession(
  env: Env,
  principal: Principal,
  limits: { idleMinutes: number; absoluteMinutes: number } = SESSION_LIMITS,
  passwordVersion: string | null = null,
): Promise<Principal | null> {
  const upgraded = await onEveryShard(env, principal.tenantId, (store) => store.upgrade(principal.sessionId, limits, passwordVersion))
  return upgraded.find((p) => p !== null) ?? null
}

/** Gives an account's live sessions a new role and permissions (effective on their next request). */
export async function refreshActorSessions(env: Env, tenantId: string, actorId: string, role: Principal['role'], permissions: string[]) {
  await onEveryShard(env, tenantId, (store) => store.updateActor(actorId, role, permissions))
}

/** Live sessions of a tenant (or of one of its accounts), newest first. */
export async function listTenantSessions(env: Env, tenantId: string, actorId: string | null) {
  const shards = await onEveryShard(env, tenantId, (store) => store.list(actorId))
  return shards.flat().sort((a, b) => b.createdAt.localeCompare(a.createdAt))
}

/** Ends one session of a tenant, optionally only if it belongs to `actorId`. */
export async function endTenantSession(env: Env, tenantId: string, sessionId: string, actorId: string | null) {
  return (await onEveryShard(env, tenantId, (store) => store.revoke(sessionId, actorId))).some(Boolean)
}

/** Ends the caller's own session (sign-out). */
export async function endSession(env: Env, principal: Principal): Promise<void> {
  await onEveryShard(env, principal.tenantId, (store) => store.revoke(principal.sessionId))
}

/** Ends every session of one account, optionally sparing one; returns how many ended. */
export async function endActorSessions(
  env: Env,
  who: { tenantId: string | null; actorId: string },
  exceptSessionId: string | null = null,
): Promise<number> {
  const ended = await onEveryShard(env, who.tenantId, (store) => store.revokeActor(who.actorId, exceptSessionId))
  return ended.reduce((a, b) => a + b, 0)
}

/** Ends every session of a tenant (suspension, termination). */
export async function endTenantSessions(env: Env, tenantId: string): Promise<number> {
  return (await onEveryShard(env, tenantId, (store) => store.revokeAll())).reduce((a, b) => a + b, 0)
}

/**
 * Termination (DM-7): empties every session store shard of the tenant
 * (sessions, source rules, request meters) and cancels their alarms.
 * Answers how many stores were erased.
 */
export async function eraseTenantSessionStores(env: Env, tenantId: string): Promise<number> {
  return (await onEveryShard(env, tenantId, (store) => store.eraseAll())).length
}
