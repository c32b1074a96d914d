import { and, eq } from 'drizzle-orm'
import type { Database } from '../db/client'
import { plans, tenants, users } from '../db/schema'
import { normaliseEmail } from '../lib/email'
import { Problem } from '../lib/problem'
import type { RequestMeta } from '../lib/request-meta'
import { checkSource, type RequestSource } from '../lib/source-rules'
import type { Defer } from '../lib/defer'
import { DAY_MS, isoNow } from '../lib/time'
import type { TenantLogin, TenantLoginResult } from '../schemas/auth'
import type { Permission } from '../schemas/permissions'
import type { Policy } from '../schemas/policy'
import type { Principal } from '../schemas/principal'
import { audit } from './audit'
import { activeFactors, completeChallenge, startChallenge, type MfaAccount } from './mfa'
import { assertNotReused, assertStrongPassword, rememberPassword } from './password-policy'
import { hashPassword, verifyNothing, verifyPassword } from './passwords'
import { boundFingerprints, getPolicy } from './policy'
import { endActorSessions, endSession, issueSession, refreshActorSessions, upgradeSession } from './sessions'
import { refuseSource, sourceRulesOf } from './source-restrictions'
import { toUser, type UserRow } from './users'

type TenantRow = typeof tenants.$inferSelect


/** Whether the account's password is older than its role's maximum age (SE-13, SE-19). */
export function passwordExpired(user: Pick<UserRow, 'passwordChangedAt' | 'role'>, policy: Policy, now = Date.now()) {
  return now - Date.parse(user.passwordChangedAt) > policy.password_max_age_days[user.role] * DAY_MS
}

function sessionLimits(policy: Policy) {
  return { idleMinutes: policy.session_idle_minutes, absoluteMinutes: policy.session_absolute_hours * 60 }
}

/**
 * Tenant sign-in, step one (SE-1, SE-16, SE-21). The source rules are
 * checked before the password is looked at. Unknown tenant, unknown e-mail
 * and wrong password give one answer after the same work: one joined query,
 * one password verify (against a dummy hash when there is no account) and
 * one audit append. A second factor, when the policy asks for one or the
 * account has one, turns the answer into `mfa_required`.
 */
export async function tenantSignIn(
  env: Env,
  db: Database,
  input: TenantLogin,
  source: RequestSource,
  meta: RequestMeta,
  defer: Defer,
): Promise<TenantLoginResult> {
  const email = normaliseEmail(input.email)
  const found = await db
    .select({ tenant: tenants, user: users })
    .from(tenants)
    .leftJoin(users, and(eq(users.tenantId, tenants.id), eq(users.email, email)))
    .where(eq(tenants.slug, input.tenant.trim().toLowerCase()))
    .get()
  const tenant = found?.tenant
  const user = found?.user ?? null
  const policy = tenant ? await getPolicy(db, tenant.id) : null

  if (tenant && policy) {
    const rules = sourceRulesOf(policy)
    const fingerprints = user ? await boundFingerprints(db, tenant.id, user.id) : []
    // An unknown account is refused only when no role could sign in from here, so the
    // answer says nothing about which e-mail addresses exist.
    const verdicts = (user ? [user.role] : ['admin', 'member']).map((role) => checkSource(rules, role, source, fingerprints))
    const refused = verdicts.find((v) => !v.ok)
    if (refused && !refused.ok && verdicts.every((v) => !v.ok)) {
      await refuseSource(env, meta, { tenantId: tenant.id, actorType: 'user', actorId: user?.id ?? null, role: user?.role ?? 'unknown' }, refused)
    }
  }

  const verified = user ? await verifyPassword(input.password, user.passwordHash) : { ok: await verifyNothing(input.password), needsRehash: false }
  const attempt = {
    tenantId: tenant?.id ?? null,
    actor: { type: 'user' as const, id: user?.id ?? null },
    action: 'auth.login',
    target: { type: 'user', id: user?.id ?? null },
  }
  if (!tenant || !user || !policy || !verified.ok) {
    const reason = !tenant ? 'unknown_tenant' : !user ? 'unknown_email' : 'wrong_password'
    await audit(env, meta, { ...attempt, outcome: 'failure', details: { reason, tenant: input.tenant, email } })
    throw Problem.invalidCredentials()
  }
  await assertMaySignIn(env, tenant, user, meta)
  if (verified.needsRehash) {
    await db.update(users).set({ passwordHash: await hashPassword(input.password) }).where(eq(users.id, user.id))
  }
  const factors = await activeFactors(db, user.id)
  if (policy.mfa_required[user.role] || factors.length > 0) {
    const challenge = await startChallenge(env, db, accountOf(user), meta, defer)
    return { status: 'mfa_required', ...challenge }
  }
  return finishSignIn(env, db, tenant, user, policy, meta, { method: 'password' })
}

function accountOf(user: UserRow): MfaAccount {
  return { type: 'user', id: user.id, tenantId: user.tenantId, email: user.email }
}

// Past the password, the caller has proven it, so saying why is no leak.
async function assertMaySignIn(env: Env, tenant: TenantRow, user: UserRow, meta: RequestMeta) {
  const entry = { tenantId: tenant.id, actor: { type: 'user' as const, id: user.id }, action: 'auth.login', target: { type: 'user', id: user.id } }
  if (tenant.status !== 'active') {
    await audit(env, meta, { ...entry, outcome: 'denied', details: { reason: 'tenant_suspended' } })
    throw Problem.forbidden('This tenant is suspended; contact your administrator.', 'tenant-suspended')
  }
  if (user.status !== 'active') {
    await audit(env, meta, { ...entry, outcome: 'denied', details: { reason: 'account_disabled' } })
    throw Problem.forbidden('This account is disabled; contact your administrator.', 'account-disabled')
  }
}

/**
 * Tenant sign-in, step two: the answer to an `mfa_required` challenge.
 * Wrong codes count against the challenge's five tries.
 */
export async function completeTenantMfa(
  env: Env,
  db: Database,
  input: { challenge: string; code: string },
  source: RequestSource,
  meta: RequestMeta,
): Promise<TenantLoginResult> {
  const done = await completeChallenge(env, db, { type: 'user' }, input.challenge, input.code, meta, async (id) => {
    const user = await db.select().from(users).where(eq(users.id, id)).get()
    return user ? accountOf(user) : null
  })
  const row = await db
    .select({ tenant: tenants, user: users })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.id, done.accountId), eq(users.tenantId, done.tenantId!)))
    .get()
  if (!row) throw Problem.invalidCredentials()
  const policy = await getPolicy(db, row.tenant.id)
  const verdict = checkSource(sourceRulesOf(policy), row.user.role, source, await boundFingerprints(db, row.tenant.id, row.user.id))
  if (!verdict.ok) await refuseSource(env, meta, { tenantId: row.tenant.id, actorType: 'user', actorId: row.user.id, role: row.user.role }, verdict)
  await assertMaySignIn(env, row.tenant, row.user, meta)
  return finishSignIn(env, db, row.tenant, row.user, policy, meta, { method: done.method, enrolled: done.enrolled })
}

/**
 * Issues the session once every factor passed. A temporary or expired
 * password yields a password-change-only session instead (SE-13, SE-19).
 */
async function finishSignIn(
  env: Env,
  db: Database,
  tenant: TenantRow,
  user: UserRow,
  policy: Policy,
  meta: RequestMeta,
  how: { method: string; enrolled?: boolean },
): Promise<TenantLoginResult> {
  const now = isoNow()
  const expired = !user.mustChangePassword && passwordExpired(user, policy)
  const passwordChange = user.mustChangePassword || expired
  const entry = { tenantId: tenant.id, actor: { type: 'user' as const, id: user.id }, target: { type: 'user', id: user.id } }
  const plan = await db.select({ concurrentSessions: plans.concurrentSessions }).from(plans).where(eq(plans.id, tenant.planId)).get()
  const session = await issueSession(env, {
    actorType: 'user',
    actorId: user.id,
    tenantId: tenant.id,
    role: user.role,
    permissions: user.permissions as Permission[],
    kind: passwordChange ? 'password_change' : 'full',
    ...sessionLimits(policy),
    ip: meta.ip,
    userAgent: meta.userAgent,
    certFingerprints: await boundFingerprints(db, tenant.id, user.id),
    rules: sourceRulesOf(policy),
    maxSessions: plan?.concurrentSessions ?? null,
  }).catch(async (error) => {
    if (error instanceof Problem && error.type === 'session-limit') {
      await audit(env, meta, { ...entry, action: 'auth.login', outcome: 'denied', details: { reason: 'session_limit' } })
    }
    throw error
  })
  await confirmAccountUnchanged(env, db, user, session.principal)
  if (expired) {
    await audit(env, meta, {
      ...entry,
      action: 'auth.password_expired',
      outcome: 'denied',
      details: { password_changed_at: user.passwordChangedAt, max_age_days: policy.password_max_age_days[user.role] },
    })
  }
  await audit(
    env,
    meta,
    {
      ...entry,
      action: 'auth.login',
      outcome: 'success',
      details: {
        session_id: session.principal.sessionId,
        method: how.method,
        ...(how.enrolled ? { enrolled: 'email' } : {}),
        ...(passwordChange ? { password_change_required: expired ? 'expired' : 'temporary' } : {}),
      },
    },
    [db.update(users).set({ lastLoginAt: now }).where(eq(users.id, user.id)).toSQL()],
  )
  if (passwordChange) {
    return { status: 'password_change_required', token: session.token, expires_at: session.principal.expiresAt }
  }
  return { status: 'ok', token: session.token, expires_at: session.principal.expiresAt, user: toUser({ ...user, lastLoginAt: now }) }
}

/**
 * Closes the race between a sign-in and an admin changing the account: the
 * account was read before the (slow) password check, so it is read again
 * once the session exists. A disable or delete that committed meanwhile ends
 * the new session here; one that commits later ends it itself. A role or
 * permission change is copied into the new session.
 */
async function confirmAccountUnchanged(env: Env, db: Database, user: UserRow, principal: Principal) {
  const now = await db.select().from(users).where(and(eq(users.id, user.id), eq(users.tenantId, user.tenantId))).get()
  if (!now || now.status !== 'active') {
    await endSession(env, principal)
    throw now
      ? Problem.forbidden('This account is disabled; contact your administrator.', 'account-disabled')
      : Problem.invalidCredentials()
  }
  if (now.role !== user.role || JSON.stringify(now.permissions) !== JSON.stringify(user.permissions)) {
    await refreshActorSessions(env, user.tenantId, user.id, now.role, now.permissions as Permission[])
  }
}

/** The signed-in account, its tenant and session. */
export async function me(db: Database, principal: Principal) {
  const row = await db
    .select({ user: users, tenant: { id: tenants.id, slug: tenants.slug, name: tenants.name } })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.id, principal.actorId), eq(users.tenantId, principal.tenantId!)))
    .get()
  if (!row) throw Problem.unauthenticated('This account no longer exists.')
  const factors = await activeFactors(db, principal.actorId)
  return {
    user: toUser(row.user),
    tenant: row.tenant,
    session: { id: principal.sessionId, expires_at: principal.expiresAt },
    mfa: { methods: factors.map((f) => f.kind) },
  }
}

/** The caller's own account row; the session must still point at a live account. */
export async function currentUser(db: Database, principal: Principal): Promise<UserRow & { tenantSlug: string }> {
  const row = await db
    .select({ user: users, slug: tenants.slug })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.id, principal.actorId), eq(users.tenantId, principal.tenantId!)))
    .get()
  if (!row) throw Problem.unauthenticated('This account no longer exists.')
  return { ...row.user, tenantSlug: row.slug }
}

/** Re-authentication for sensitive changes (factor changes): the current password, or 422. */
export async function assertCurrentPassword(env: Env, user: UserRow, password: string, meta: RequestMeta, action: string) {
  if ((await verifyPassword(password, user.passwordHash)).ok) return
  await audit(env, meta, {
    tenantId: user.tenantId,
    actor: { type: 'user', id: user.id },
    action,
    target: { type: 'user', id: user.id },
    outcome: 'failure',
    details: { reason: 'wrong_current_password' },
  })
  throw Problem.validation([{ path: 'body.current_password', message: 'This is not your current password.' }])
}

/**
 * Changes the caller's password after checking the current one, the
 * tenant's length rule, guessability and the no-reuse history. The caller's
 * session stays valid (a password-change-only session becomes a full one);
 * every other session of the account ends.
 */
export async function changePassword(
  env: Env,
  db: Database,
  principal: Principal,
  input: { current_password: string; new_password: string },
  meta: RequestMeta,
) {
  const user = await currentUser(db, principal)
  await assertCurrentPassword(env, user, input.current_password, meta, 'auth.password_change')
  const policy = await getPolicy(db, user.tenantId)
  const field = 'body.new_password'
  assertStrongPassword(input.new_password, { email: user.email, tenantSlug: user.tenantSlug, minLength: policy.password_min_length }, field)
  await assertNotReused(db, user.id, user.passwordHash, input.new_password, policy.password_history, field)

  const now = isoNow()
  const changed = { passwordHash: await hashPassword(input.new_password), passwordChangedAt: now, mustChangePassword: false, updatedAt: now }
  await audit(
    env,
    meta,
    { tenantId: user.tenantId, actor: { type: 'user', id: user.id }, action: 'auth.password_change', target: { type: 'user', id: user.id }, outcome: 'success' },
    [
      db.update(users).set(changed).where(and(eq(users.id, user.id), eq(users.tenantId, user.tenantId))).toSQL(),
      ...rememberPassword(db, { tenantId: user.tenantId, accountId: user.id }, user.passwordHash, now),
    ],
  )
  await endActorSessions(env, principal, principal.sessionId)
  const session = await upgradeSession(env, principal, sessionLimits(policy))
  if (!session) throw Problem.unauthenticated('Your session ended meanwhile: sign in with the new password.')
  const { tenantSlug: _slug, ...row } = user
  return { status: 'ok' as const, expires_at: session.expiresAt, user: toUser({ ...row, ...changed }) }
}

/** Ends the caller's session. */
export async function signOut(env: Env, principal: Principal, meta: RequestMeta) {
  await endSession(env, principal)
  await audit(env, meta, {
    tenantId: principal.tenantId,
    actor: { type: principal.actorType, id: principal.actorId },
    action: 'auth.logout',
    target: { type: 'session', id: principal.sessionId },
    outcome: 'success',
  })
}
