import { and, eq } from 'drizzle-orm'
import type { Database } from '../db/client'
import { tenants, users } from '../db/schema'
import { normaliseEmail } from '../lib/email'
import { Problem } from '../lib/problem'
import { isoNow } from '../lib/time'
import type { TenantLogin, TenantLoginResult } from '../schemas/auth'
import type { Permission } from '../schemas/permissions'
import type { Principal } from '../schemas/principal'
import { audit, type RequestMeta } from './audit'
import { assertNewPassword, hashPassword, verifyNothing, verifyPassword } from './passwords'
import { endActorSessions, endSession, issueSession, upgradeSession } from './sessions'
import { toUser } from './users'

/**
 * Tenant sign-in (SE-1). Unknown tenant, unknown e-mail and wrong password
 * give one answer after the same work: one joined query, one password verify
 * (against a dummy hash when there is no account) and one audit append.
 */
export async function tenantSignIn(
  env: Env,
  db: Database,
  input: TenantLogin,
  meta: RequestMeta,
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
  const verified = user ? await verifyPassword(input.password, user.passwordHash) : { ok: await verifyNothing(input.password), needsRehash: false }

  const attempt = {
    tenantId: tenant?.id ?? null,
    actor: { type: 'user' as const, id: user?.id ?? null },
    action: 'auth.login',
    target: { type: 'user', id: user?.id ?? null },
  }
  if (!tenant || !user || !verified.ok) {
    const reason = !tenant ? 'unknown_tenant' : !user ? 'unknown_email' : 'wrong_password'
    await audit(env, meta, { ...attempt, outcome: 'failure', details: { reason, tenant: input.tenant, email } })
    throw Problem.invalidCredentials()
  }
  // Past this point the caller has proven the password, so saying why is no leak.
  if (tenant.status !== 'active') {
    await audit(env, meta, { ...attempt, outcome: 'denied', details: { reason: 'tenant_suspended' } })
    throw Problem.forbidden('This tenant is suspended; contact your administrator.', 'tenant-suspended')
  }
  if (user.status !== 'active') {
    await audit(env, meta, { ...attempt, outcome: 'denied', details: { reason: 'account_disabled' } })
    throw Problem.forbidden('This account is disabled; contact your administrator.', 'account-disabled')
  }

  const now = isoNow()
  const passwordChange = user.mustChangePassword
  const writes = [db.update(users).set({ lastLoginAt: now }).where(eq(users.id, user.id)).toSQL()]
  if (verified.needsRehash) {
    writes.push(
      db.update(users).set({ passwordHash: await hashPassword(input.password) }).where(eq(users.id, user.id)).toSQL(),
    )
  }
  const session = await issueSession(env, {
    actorType: 'user',
    actorId: user.id,
    tenantId: tenant.id,
    role: user.role,
    permissions: user.permissions as Permission[],
    kind: passwordChange ? 'password_change' : 'full',
    ip: meta.ip,
    userAgent: meta.userAgent,
  })
  await audit(
    env,
    meta,
    {
      ...attempt,
      outcome: 'success',
      details: { session_id: session.principal.sessionId, ...(passwordChange ? { password_change_required: true } : {}) },
    },
    writes,
  )
  if (passwordChange) {
    return { status: 'password_change_required', token: session.token, expires_at: session.principal.expiresAt }
  }
  return {
    status: 'ok',
    token: session.token,
    expires_at: session.principal.expiresAt,
    user: toUser({ ...user, lastLoginAt: now }),
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
  return {
    user: toUser(row.user),
    tenant: row.tenant,
    session: { id: principal.sessionId, expires_at: principal.expiresAt },
  }
}

/**
 * Changes the caller's password after checking the current one. The caller's
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
  const tenantId = principal.tenantId!
  const user = await db
    .select()
    .from(users)
    .where(and(eq(users.id, principal.actorId), eq(users.tenantId, tenantId)))
    .get()
  if (!user) throw Problem.unauthenticated('This account no longer exists.')
  const event = {
    tenantId,
    actor: { type: 'user' as const, id: user.id },
    action: 'auth.password_change',
    target: { type: 'user', id: user.id },
  }
  if (!(await verifyPassword(input.current_password, user.passwordHash)).ok) {
    await audit(env, meta, { ...event, outcome: 'failure', details: { reason: 'wrong_current_password' } })
    throw Problem.validation([{ path: 'body.current_password', message: 'This is not your current password.' }])
  }
  assertNewPassword(input.new_password, input.current_password)

  const now = isoNow()
  const changed = { passwordHash: await hashPassword(input.new_password), passwordChangedAt: now, mustChangePassword: false, updatedAt: now }
  await audit(env, meta, { ...event, outcome: 'success' }, [
    db.update(users).set(changed).where(and(eq(users.id, user.id), eq(users.tenantId, tenantId))).toSQL(),
  ])
  await endActorSessions(env, principal, principal.sessionId)
  const session = await upgradeSession(env, principal)
  if (!session) throw Problem.unauthenticated('Your session ended meanwhile: sign in with the new password.')
  return { status: 'ok' as const, expires_at: session.expiresAt, user: toUser({ ...user, ...changed }) }
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

