import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { tenantMaintenance, tenants, users } from '../../db/schema'
import { normaliseEmail } from '../../lib/email'
import { flagInForce, maintenanceProblem } from '../../lib/maintenance'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import type { Defer } from '../../lib/defer'
import { checkSource, type RequestSource } from '../../lib/source-rules'
import { DAY_MS, isoNow } from '../../lib/time'
import type { TenantLogin, TenantLoginResult } from '../../schemas/auth'
import type { Permission } from '../../schemas/permissions'
import type { Policy } from '../../schemas/policy'
import type { Principal } from '../../schemas/principal'
import { audit } from '../audit/audit'
import { activeFactors, challengeMailsCode, completeChallenge, startChallenge, type KeyedAccount } from './mfa'
import type { TripSubject } from '../abuse/announce'
import { accountKey, tenantRealm } from '../abuse/keys'
import { tooManyRequests } from '../abuse/refusal'
import { mfaLocked, openSignInGate } from '../abuse/sign-in-gate'
import { verifyNothing, verifyPassword } from '../passwords/passwords'
import { rehashPassword } from '../passwords/password-rehash'
import { attemptedIdentifierHash } from './attempted-identifier'
import { boundFingerprints, loadPolicy } from '../policy/policy'
import { endSession, issueSession, refreshActorSessions } from './sessions'
import { refuseSource, sourceRulesOf } from '../policy/source-restrictions'
import { tenantPlan } from '../tenancy/tenants'
import { toUser, type UserRow } from '../accounts/users'
import { noteSignInNetwork } from '../alerts/networks'
import { flagOfRow } from '../operations/tenant-flag-row'
import { pickLocale } from '../../i18n'

type TenantRow = typeof tenants.$inferSelect

/** Whether the account's password is older than its role's maximum age (SE-13, SE-19). */
export function passwordExpired(user: Pick<UserRow, 'passwordChangedAt' | 'role'>, policy: Policy, now = Date.now()) {
  return now - Date.parse(user.passwordChangedAt) > policy.password_max_age_days[user.role] * DAY_MS
}

/** A tenant session's lifetimes under its policy. */
export function sessionLimits(policy: Policy) {
  return { idleMinutes: policy.session_idle_minutes, absoluteMinutes: policy.session_absolute_hours * 60 }
}

/**
 * Tenant sign-in, step one (SE-1, SE-16, SE-21). Unknown tenant, unknown
 * e-mail and wrong password give one answer; for an existing tenant the work
 * is the same whether the e-mail exists or not (the same queries, one
 * password verify, against a dummy hash when there is no account, and one
 * audit append). Source rules are checked in two steps so they reveal
 * nothing either: before the password, a source no role may use at all is
 * refused; the account's own role's rules (and its certificate binding)
 * after the password, so only someone who knows the password learns of them.
 * A second factor, when the policy asks for one, the account has one or an
 * operator saw the password (a reset, a new tenant's first admin), turns the
 * answer into `mfa_required`. A failure's audit event names the tenant and
 * e-mail only when they exist; otherwise it keeps keyed hashes of what was
 * typed (it may be a password in the wrong field).
 *
 * Before all of that, the sign-in gate (SE-30, SE-31) counts the attempt
 * against the client network, the account from that network and the account
 * from anywhere, and refuses with 429 while any of them is throttled: no D1
 * read, no verify, no audit append. Anything short of a right password
 * stays counted as a failure, except a source refused before the password,
 * which counts only against the network (people outside an allowlist must
 * not lock accounts they cannot even try); a right password ends the runs.
 * An account whose second step is locked gets no new challenge (429, told
 * only to someone who knows the password). A right password that Cloudflare
 * reports as leaked (`leakedPassword`, the Exposed-Credential-Check value)
 * must be changed before anything else, and an account without a second
 * factor must first prove its mailbox: whoever else knows the leaked
 * password must not be the one to choose the new one. A tenant in
 * maintenance (its flag, read with the tenant row) answers 503 past the
 * password, so the refusal names no tenant to someone who does not know it.
 */
export async function tenantSignIn(
  env: Env,
  db: Database,
  input: TenantLogin,
  source: RequestSource,
  meta: RequestMeta,
  defer: Defer,
  signals: { leakedPassword: string | null } = { leakedPassword: null },
): Promise<TenantLoginResult> {
  const email = normaliseEmail(input.email)
  const slug = input.tenant.trim().toLowerCase()
  const gate = await openSignInGate(env, accountKey(tenantRealm(slug), email), meta.ip)
  // Both hashes on every attempt, used or not, so the work does not depend on which accounts exist.
  const typed = { tenant: await attemptedIdentifierHash(env, 'tenant', slug), email: await attemptedIdentifierHash(env, 'email', email) }
  let subject: TripSubject = { tenantId: null, account: null, identity: { tenant_hmac: typed.tenant, email_hmac: typed.email } }
  let passed = false
  try {
    const found = await db
      .select({ tenant: tenants, user: users, maintenance: tenantMaintenance })
      .from(tenants)
      .leftJoin(users, and(eq(users.tenantId, tenants.id), eq(users.email, email)))
      .leftJoin(tenantMaintenance, eq(tenantMaintenance.tenantId, tenants.id))
      .where(eq(tenants.slug, slug))
      .get()
    const tenant = found?.tenant
    const user = found?.user ?? null
    if (tenant) {
      subject = user
        ? { tenantId: tenant.id, account: { type: 'user', id: user.id, email: user.email }, identity: { email: user.email } }
        : { tenantId: tenant.id, account: null, identity: { tenant: tenant.slug, email_hmac: typed.email } }
    }
    const loaded = tenant ? await loadPolicy(db, tenant.id) : null
    const rules = loaded ? sourceRulesOf(loaded.policy, loaded.version) : null
    const fingerprints = tenant ? await boundFingerprints(db, tenant.id, user?.id ?? 'usr_none') : []
    const who = { tenantId: tenant?.id ?? null, actorType: 'user' as const, actorId: user?.id ?? null, role: user?.role ?? 'unknown' }

    if (tenant && rules) {
      // Binding is checked only once the password is known; here any presented certificate counts as bound.
      const presented = source.certificate ? [source.certificate.fingerprint] : []
      const verdicts = ['admin', 'member'].map((role) => checkSource(rules, role, source, presented))
      const first = verdicts[0]!
      if (!first.ok && verdicts.every((v) => !v.ok)) {
        await gate.untried()
        await refuseSource(env, meta, who, first)
      }
    }

    const verified = user ? await verifyPassword(input.password, user.passwordHash) : { ok: await verifyNothing(input.password), needsRehash: false }
    const attempt = {
      tenantId: tenant?.id ?? null,
      actor: { type: 'user' as const, id: user?.id ?? null },
      action: 'auth.login' as const,
      target: { type: 'user', id: user?.id ?? null },
    }
    if (!tenant || !user || !loaded || !rules || !verified.ok) {
      const reason = !tenant ? 'unknown_tenant' : !user ? 'unknown_email' : 'wrong_password'
      // As typed only what names a real tenant or account; anything else may be a password in the wrong field.
      const details = {
        reason,
        ...(tenant ? { tenant: tenant.slug } : { tenant_hmac: typed.tenant }),
        ...(user ? { email: user.email } : { email_hmac: typed.email }),
      }
      await audit(env, meta, { ...attempt, outcome: 'failure', details })
      throw Problem.invalidCredentials()
    }
    const verdict = checkSource(rules, user.role, source, fingerprints)
    if (!verdict.ok) await refuseSource(env, meta, who, verdict)
    // Only past the password, so the answer never tells which tenants exist; a right password is no failure to count.
    const flag = flagOfRow(found?.maintenance)
    if (flagInForce(flag)) {
      passed = true
      await gate.passed(db, meta, defer, subject, { mailsCode: false })
      throw maintenanceProblem(flag)
    }
    await assertMaySignIn(env, tenant, user, meta)
    const rehashed = verified.needsRehash ? await upgradeHash(env, db, user, input.password, meta) : user
    const factors = await activeFactors(db, user.id)
    const current = signals.leakedPassword ? await requireChangeOfLeakedPassword(env, db, rehashed, factors.length > 0, signals.leakedPassword, meta) : rehashed
    const required = loaded.policy.mfa_required[user.role]
    const challenge = current.verifyEmailAtSignIn || required || factors.length > 0
    // Proving the mailbox after an operator saw the password enrols nothing unless the policy asks for a factor.
    const options = { emailOnly: current.verifyEmailAtSignIn, enrol: required, factors }
    passed = true
    await gate.passed(db, meta, defer, subject, { mailsCode: challenge && !gate.mfaLocked && challengeMailsCode(factors, options) })
    if (challenge && gate.mfaLocked) throw tooManyRequests(mfaLocked())
    if (challenge) return { status: 'mfa_required', ...(await startChallenge(env, db, accountOf(current, tenant), meta, defer, options)) }
    return finishSignIn(env, db, tenant, current, loaded, meta, { method: 'password' })
  } catch (error) {
    if (!passed) await gate.failed(db, meta, defer, subject)
    throw error
  }
}

/**
 * A right password that Cloudflare's leaked-credentials detection reported
 * (Exposed-Credential-Check 1, 3 or 4): the account must change it at this
 * and every later sign-in until it does, and one without a second factor
 * must first answer a code mailed to its own address. Audited as
 * `security.leaked_credential`. Returns the row as the sign-in goes on with it.
 */
async function requireChangeOfLeakedPassword(env: Env, db: Database, user: UserRow, hasFactor: boolean, check: string, meta: RequestMeta): Promise<UserRow> {
  const flags = { mustChangePassword: true, verifyEmailAtSignIn: user.verifyEmailAtSignIn || !hasFactor }
  await audit(
    env,
    meta,
    {
      tenantId: user.tenantId,
      actor: { type: 'user', id: user.id },
      action: 'security.leaked_credential',
      target: { type: 'user', id: user.id },
      outcome: 'denied',
      details: { reason: 'leaked_credential', check, password_change_required: true, email_code_required: flags.verifyEmailAtSignIn },
    },
    [db.update(users).set(flags).where(and(eq(users.id, user.id), eq(users.tenantId, user.tenantId))).toSQL()],
  )
  return { ...user, ...flags }
}

/**
 * Re-hashes a password stored with older parameters and returns the row as
 * the rest of the sign-in must compare it, so its own re-hash is not taken
 * for a password change. When another write got there first: a concurrent
 * sign-in's re-hash of the same password leaves `password_changed_at` alone
 * and is adopted; a change or reset moves it, and the check once the session
 * exists ends the sign-in.
 */
async function upgradeHash(env: Env, db: Database, user: UserRow, password: string, meta: RequestMeta): Promise<UserRow> {
  const hash = await rehashPassword(env, db, meta, { type: 'user', id: user.id, tenantId: user.tenantId, passwordHash: user.passwordHash }, password)
  if (hash) return { ...user, passwordHash: hash }
  const now = await db.select().from(users).where(and(eq(users.id, user.id), eq(users.tenantId, user.tenantId))).get()
  const rehashedOnly = now && now.passwordChangedAt === user.passwordChangedAt && now.mustChangePassword === user.mustChangePassword
  return rehashedOnly ? { ...user, passwordHash: now.passwordHash } : user
}

function accountOf(user: UserRow, tenant: Pick<TenantRow, 'slug' | 'language'>): KeyedAccount {
  return { type: 'user', id: user.id, tenantId: user.tenantId, email: user.email, realm: tenantRealm(tenant.slug), locale: pickLocale(user.language, tenant.language) }
}

// Past the password, the caller has proven it, so saying why is no leak.
async function assertMaySignIn(env: Env, tenant: TenantRow, user: UserRow, meta: RequestMeta) {
  const entry = { tenantId: tenant.id, actor: { type: 'user' as const, id: user.id }, action: 'auth.login' as const, target: { type: 'user', id: user.id } }
  if (tenant.status !== 'active') {
    await audit(env, meta, { ...entry, outcome: 'denied', details: { reason: 'tenant_suspended' } })
    throw tenantSuspended()
  }
  if (user.status !== 'active') {
    await audit(env, meta, { ...entry, outcome: 'denied', details: { reason: 'account_disabled' } })
    throw accountDisabled()
  }
}

/**
 * Tenant sign-in, step two: the answer to an `mfa_required` challenge.
 * Wrong codes count against the challenge's five tries and the account's
 * run of wrong codes across challenges (see completeChallenge).
 */
export async function completeTenantMfa(
  env: Env,
  db: Database,
  input: { challenge: string; code: string },
  source: RequestSource,
  meta: RequestMeta,
  defer: Defer,
): Promise<TenantLoginResult> {
  const done = await completeChallenge(env, db, { type: 'user' }, input.challenge, input.code, meta, defer, async (id) => {
    const row = await db
      .select({ user: users, slug: tenants.slug, language: tenants.language, maintenance: tenantMaintenance })
      .from(users)
      .innerJoin(tenants, eq(tenants.id, users.tenantId))
      .leftJoin(tenantMaintenance, eq(tenantMaintenance.tenantId, users.tenantId))
      .where(eq(users.id, id))
      .get()
    // Before the challenge spends a try: it stays good for when maintenance is over.
    const flag = flagOfRow(row?.maintenance)
    if (flagInForce(flag)) throw maintenanceProblem(flag)
    return row ? accountOf(row.user, row) : null
  })
  const row = await db
    .select({ tenant: tenants, user: users })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.id, done.accountId), eq(users.tenantId, done.tenantId!)))
    .get()
  if (!row) throw Problem.invalidCredentials()
  const loaded = await loadPolicy(db, row.tenant.id)
  const verdict = checkSource(sourceRulesOf(loaded.policy, loaded.version), row.user.role, source, await boundFingerprints(db, row.tenant.id, row.user.id))
  if (!verdict.ok) await refuseSource(env, meta, { tenantId: row.tenant.id, actorType: 'user', actorId: row.user.id, role: row.user.role }, verdict)
  await assertMaySignIn(env, row.tenant, row.user, meta)
  return finishSignIn(env, db, row.tenant, row.user, loaded, meta, { method: done.method, enrolled: done.enrolled })
}

/**
 * A new session of a tenant account under its tenant's policy (lifetimes and
 * source rules), its bound certificates and its plan's session limit.
 * `sessionId`: the id an event already committed names; a fresh one otherwise.
 */
export async function issueTenantSession(
  env: Env,
  db: Database,
  user: UserRow,
  loaded: { policy: Policy; version: string },
  meta: RequestMeta,
  kind: Principal['kind'],
  sessionId?: string,
) {
  const plan = await tenantPlan(db, user.tenantId)
  return issueSession(env, {
    actorType: 'user',
    actorId: user.id,
    tenantId: user.tenantId,
    role: user.role,
    permissions: user.permissions as Permission[],
    kind,
    ...sessionLimits(loaded.policy),
    ip: meta.ip,
    userAgent: meta.userAgent,
    certFingerprints: await boundFingerprints(db, user.tenantId, user.id),
    rules: sourceRulesOf(loaded.policy, loaded.version),
    maxSessions: plan?.concurrentSessions ?? null,
    maxPerAccount: loaded.policy.sessions_per_account,
    passwordVersion: user.passwordChangedAt,
    meta,
    ...(sessionId ? { sessionId } : {}),
  })
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
  loaded: { policy: Policy; version: string },
  meta: RequestMeta,
  how: { method: string; enrolled?: boolean },
): Promise<TenantLoginResult> {
  const { policy } = loaded
  const now = isoNow()
  const expired = !user.mustChangePassword && passwordExpired(user, policy)
  const passwordChange = user.mustChangePassword || expired
  const entry = { tenantId: tenant.id, actor: { type: 'user' as const, id: user.id }, target: { type: 'user', id: user.id } }
  const session = await issueTenantSession(env, db, user, loaded, meta, passwordChange ? 'password_change' : 'full').catch(async (error) => {
    if (error instanceof Problem && error.type === 'session-limit') {
      await audit(env, meta, { ...entry, action: 'auth.login', outcome: 'denied', details: { reason: 'session_limit' } })
    }
    throw error
  })
  await confirmAccountUnchanged(env, db, user, session.principal, meta)
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
    [
      db
        .update(users)
        // An e-mailed code just proved the mailbox: the check an operator reset asked for is done.
        .set(how.method === 'email' ? { lastLoginAt: now, verifyEmailAtSignIn: false } : { lastLoginAt: now })
        .where(eq(users.id, user.id))
        .toSQL(),
    ],
  )
  await noteSignInNetwork(env, db, meta, { tenantId: tenant.id, id: user.id, email: user.email })
  if (passwordChange) {
    return { status: 'password_change_required', token: session.token, expires_at: session.principal.expiresAt }
  }
  return { status: 'ok', token: session.token, expires_at: session.principal.expiresAt, user: toUser({ ...user, lastLoginAt: now }) }
}

/**
 * Closes the race between a sign-in and a change to its account or tenant:
 * both were read before the (slow) password check, so they are read again
 * once the session exists. A disable, delete, password reset or suspension
 * that committed meanwhile ends the new session here; one that commits later
 * ends it itself. A role or permission change is copied into the session.
 */
async function confirmAccountUnchanged(env: Env, db: Database, user: UserRow, principal: Principal, meta: RequestMeta) {
  const now = await db
    .select({ user: users, tenantStatus: tenants.status })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.id, user.id), eq(users.tenantId, user.tenantId)))
    .get()
  const changed =
    !now ? 'account_deleted'
    : now.tenantStatus !== 'active' ? 'tenant_suspended'
    : now.user.status !== 'active' ? 'account_disabled'
    : now.user.passwordHash !== user.passwordHash ? 'password_changed'
    : null
  if (changed) {
    await endSession(env, principal)
    await audit(env, meta, {
      tenantId: user.tenantId,
      actor: { type: 'user', id: user.id },
      action: 'auth.login',
      target: { type: 'user', id: user.id },
      outcome: 'denied',
      details: { reason: changed, during: 'sign-in' },
    })
    throw changed === 'account_disabled' ? accountDisabled() : changed === 'tenant_suspended' ? tenantSuspended() : Problem.invalidCredentials()
  }
  if (now!.user.role !== user.role || JSON.stringify(now!.user.permissions) !== JSON.stringify(user.permissions)) {
    await refreshActorSessions(env, user.tenantId, user.id, now!.user.role, now!.user.permissions as Permission[])
  }
}

function accountDisabled() {
  return Problem.forbidden('This account is disabled; contact your administrator.', 'account-disabled')
}

function tenantSuspended() {
  return Problem.forbidden('This tenant is suspended; contact your administrator.', 'tenant-suspended')
}
