import { eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { pickLocale } from '../../i18n'
import { operators } from '../../db/schema'
import { secretsEqual } from '../../lib/digest'
import { normaliseEmail } from '../../lib/email'
import { ID_PATTERN, newId } from '../../lib/ids'
import type { Defer } from '../../lib/defer'
import { Problem } from '../../lib/problem'
import type { RequestSource } from '../../lib/source-rules'
import { DAY_MS, isoNow } from '../../lib/time'
import { PLATFORM } from '../../schemas/policy'
import { audit, auditChange, type RequestMeta } from '../audit/audit'
import { activeFactors, challengeMailsCode, completeChallenge, startChallenge, type KeyedAccount } from './mfa'
import type { TripSubject } from '../abuse/announce'
import { accountKey, PLATFORM_REALM } from '../abuse/keys'
import { openNetworkGate } from '../abuse/network-gates'
import { accountHolds, releaseAccount, wasHeld } from '../abuse/release'
import { tooManyRequests } from '../abuse/refusal'
import { mfaLocked, openSignInGate } from '../abuse/sign-in-gate'
import { assertStrongPassword } from '../passwords/password-policy'
import { hashPassword, verifyNothing, verifyPassword } from '../passwords/passwords'
import { rehashPassword } from '../passwords/password-rehash'
import { attemptedIdentifierHash } from './attempted-identifier'
import { endSession, issueSession } from './sessions'
import { operatorSourceVerdict, refuseSource } from '../policy/source-restrictions'

type OperatorRow = typeof operators.$inferSelect

export function toOperator(row: OperatorRow) {
  return { id: row.id, email: row.email, name: row.name, status: row.status, created_at: row.createdAt, last_login_at: row.lastLoginAt, language: row.language }
}

/** Whether an operator's password is older than the platform's admin maximum (SE-13: 30 days). */
export function operatorPasswordExpired(row: Pick<OperatorRow, 'passwordChangedAt'>, now = Date.now()) {
  return now - Date.parse(row.passwordChangedAt) > PLATFORM.passwordMaxAgeDays.admin * DAY_MS
}

// Past the password, the caller has proven it, so saying why is no leak.
async function refuseDisabled(env: Env, meta: RequestMeta, row: OperatorRow, during?: string): Promise<never> {
  await audit(env, meta, {
    tenantId: null,
    actor: { type: 'operator', id: row.id },
    action: 'auth.login',
    target: { type: 'operator', id: row.id },
    outcome: 'denied',
    details: { reason: 'account_disabled', ...(during ? { during } : {}) },
  })
  throw Problem.forbidden('This operator account is disabled; ask another operator.', 'account-disabled')
}

/**
 * Creates the first operator, once. The bootstrap token is compared in
 * constant time; the insert itself only happens while no operator exists,
 * so two racing bootstraps cannot both win. Each bad token counts against
 * the client network's hourly budget before anything else (10, then 429
 * with no audit append until the hour is over): the platform trail records
 * each bad token up to the budget and the block once, never a flood.
 */
export async function bootstrapOperator(
  env: Env,
  db: Database,
  presentedToken: string | null,
  input: { email: string; name: string; password: string },
  meta: RequestMeta,
  defer: Defer,
) {
  const gate = await openNetworkGate(env, 'bootstrap', meta.ip)
  const configured = env.BOOTSTRAP_TOKEN ?? ''
  const entry = { tenantId: null, actor: { type: 'anonymous' as const, id: null }, action: 'operator.bootstrap' as const }
  if (configured.length < 16 || presentedToken === null || !(await secretsEqual(presentedToken, configured))) {
    await audit(env, meta, { ...entry, outcome: 'denied', details: { reason: 'bad_bootstrap_token' } })
    await gate.failed(db, meta, defer)
    throw new Problem({
      status: 401,
      type: 'invalid-bootstrap-token',
      title: 'Invalid bootstrap token',
      detail: 'Send the BOOTSTRAP_TOKEN secret as a bearer token.',
      headers: { 'WWW-Authenticate': 'Bearer' },
    })
  }
  await gate.passed()
  assertStrongPassword(input.password, { email: input.email, tenantSlug: null, minLength: PLATFORM.passwordMinLength }, 'body.password')
  const now = isoNow()
  const row: OperatorRow = {
    id: newId('op'),
    email: normaliseEmail(input.email),
    name: input.name,
    passwordHash: await hashPassword(input.password),
    passwordChangedAt: now,
    createdAt: now,
    lastLoginAt: null,
    status: 'active',
    mustChangePassword: false,
    createdBy: null,
    language: null,
  }
  const insert = {
    sql: `INSERT INTO operators (id, email, name, password_hash, password_changed_at, created_at)
          SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM operators)`,
    params: [row.id, row.email, row.name, row.passwordHash, row.passwordChangedAt, row.createdAt],
  }
  await auditChange(
    env,
    meta,
    { ...entry, actor: { type: 'operator', id: row.id }, target: { type: 'operator', id: row.id }, outcome: 'success' },
    [insert],
    () => Problem.conflict('An operator already exists; bootstrap is closed.', 'already-bootstrapped'),
  )
  return toOperator(row)
}

function operatorAccount(row: OperatorRow): KeyedAccount {
  return { type: 'operator', id: row.id, tenantId: null, email: row.email, realm: PLATFORM_REALM, locale: pickLocale(row.language) }
}

/**
 * Operator sign-in, step one. The platform allowlist is checked before the
 * password; then, as for tenants, one answer and one amount of work for an
 * unknown e-mail and a wrong password. Operators always need a second
 * factor: the answer is always `mfa_required` (SE-16). The same sign-in
 * gate as for tenants comes first (the operators' realm is the platform's),
 * and a right password that Cloudflare reports as leaked must be changed
 * once the second factor has passed.
 */
export async function operatorSignIn(
  env: Env,
  db: Database,
  input: { email: string; password: string },
  source: RequestSource,
  meta: RequestMeta,
  defer: Defer,
  signals: { leakedPassword: string | null } = { leakedPassword: null },
) {
  const email = normaliseEmail(input.email)
  const gate = await openSignInGate(env, accountKey(PLATFORM_REALM, email), meta.ip)
  // Computed on every attempt, so the work does not depend on whether the operator exists.
  const emailHmac = await attemptedIdentifierHash(env, 'email', email)
  let subject: TripSubject = { tenantId: null, account: null, identity: { email_hmac: emailHmac } }
  let passed = false
  try {
    const operator = await db.select().from(operators).where(eq(operators.email, email)).get()
    if (operator) subject = { tenantId: null, account: { type: 'operator', id: operator.id, email: operator.email }, identity: { email: operator.email } }
    const verdict = operatorSourceVerdict(env, source)
    if (!verdict.ok) {
      await gate.untried()
      await refuseSource(env, meta, { tenantId: null, actorType: 'operator', actorId: operator?.id ?? null, role: 'operator' }, verdict)
    }
    const verified = operator ? await verifyPassword(input.password, operator.passwordHash) : { ok: await verifyNothing(input.password), needsRehash: false }
    if (!operator || !verified.ok) {
      await audit(env, meta, {
        tenantId: null,
        actor: { type: 'operator', id: operator?.id ?? null },
        action: 'auth.login',
        target: { type: 'operator', id: operator?.id ?? null },
        outcome: 'failure',
        // As typed only when it names an operator: otherwise it may be a password in the wrong field.
        details: operator ? { reason: 'wrong_password', email: operator.email } : { reason: 'unknown_email', email_hmac: emailHmac },
      })
      throw Problem.invalidCredentials()
    }
    if (operator.status !== 'active') await refuseDisabled(env, meta, operator)
    if (verified.needsRehash) await rehashPassword(env, db, meta, { type: 'operator', id: operator.id, tenantId: null, passwordHash: operator.passwordHash }, input.password)
    if (signals.leakedPassword) await requireChangeOfLeakedPassword(env, db, operator, signals.leakedPassword, meta)
    const factors = await activeFactors(db, operator.id)
    passed = true
    await gate.passed(db, meta, defer, subject, { mailsCode: !gate.mfaLocked && challengeMailsCode(factors) })
    if (gate.mfaLocked) throw tooManyRequests(mfaLocked())
    const challenge = await startChallenge(env, db, operatorAccount(operator), meta, defer, { factors })
    return { status: 'mfa_required' as const, ...challenge }
  } catch (error) {
    if (!passed) await gate.failed(db, meta, defer, subject)
    throw error
  }
}

/** A leaked operator password (see tenant sign-in): the session after the second factor can only change it. */
async function requireChangeOfLeakedPassword(env: Env, db: Database, operator: OperatorRow, check: string, meta: RequestMeta) {
  await audit(
    env,
    meta,
    {
      tenantId: null,
      actor: { type: 'operator', id: operator.id },
      action: 'security.leaked_credential',
      target: { type: 'operator', id: operator.id },
      outcome: 'denied',
      details: { reason: 'leaked_credential', check, password_change_required: true },
    },
    [db.update(operators).set({ mustChangePassword: true }).where(eq(operators.id, operator.id)).toSQL()],
  )
}

/**
 * Operator sign-in, step two: the second factor, then the session. A
 * temporary (invited) password or one older than 30 days yields a
 * password-change-only session (SE-13). An operator disabled meanwhile gets
 * no session, and one disabled or reset while it was being issued loses it.
 */
export async function completeOperatorMfa(
  env: Env,
  db: Database,
  input: { challenge: string; code: string },
  source: RequestSource,
  meta: RequestMeta,
  defer: Defer,
) {
  const done = await completeChallenge(env, db, { type: 'operator' }, input.challenge, input.code, meta, defer, async (id) => {
    const row = await db.select().from(operators).where(eq(operators.id, id)).get()
    return row ? operatorAccount(row) : null
  })
  const operator = await db.select().from(operators).where(eq(operators.id, done.accountId)).get()
  if (!operator) throw Problem.invalidCredentials()
  const verdict = operatorSourceVerdict(env, source)
  if (!verdict.ok) await refuseSource(env, meta, { tenantId: null, actorType: 'operator', actorId: operator.id, role: 'operator' }, verdict)
  if (operator.status !== 'active') await refuseDisabled(env, meta, operator)
  const expired = !operator.mustChangePassword && operatorPasswordExpired(operator)
  const passwordChange = operator.mustChangePassword || expired
  const now = isoNow()
  const session = await issueSession(env, {
    actorType: 'operator',
    actorId: operator.id,
    tenantId: null,
    role: 'operator',
    permissions: [],
    kind: passwordChange ? 'password_change' : 'full',
    ip: meta.ip,
    userAgent: meta.userAgent,
    passwordVersion: operator.passwordChangedAt,
    meta,
  })
  const entry = { tenantId: null, actor: { type: 'operator' as const, id: operator.id }, target: { type: 'operator', id: operator.id } }
  const after = await db.select().from(operators).where(eq(operators.id, operator.id)).get()
  if (!after || after.status !== 'active' || after.passwordHash !== operator.passwordHash) {
    await endSession(env, session.principal)
    if (after && after.status !== 'active') await refuseDisabled(env, meta, after, 'sign-in')
    await audit(env, meta, { ...entry, action: 'auth.login', outcome: 'denied', details: { reason: after ? 'password_changed' : 'account_deleted', during: 'sign-in' } })
    throw Problem.invalidCredentials()
  }
  if (expired) {
    await audit(env, meta, {
      ...entry,
      action: 'auth.password_expired',
      outcome: 'denied',
      details: { password_changed_at: operator.passwordChangedAt, max_age_days: PLATFORM.passwordMaxAgeDays.admin },
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
        method: done.method,
        ...(done.enrolled ? { enrolled: 'email' } : {}),
        ...(passwordChange ? { password_change_required: expired ? 'expired' : 'temporary' } : {}),
      },
    },
    [db.update(operators).set({ lastLoginAt: now }).where(eq(operators.id, operator.id)).toSQL()],
  )
  if (passwordChange) {
    return { status: 'password_change_required' as const, token: session.token, expires_at: session.principal.expiresAt }
  }
  return {
    status: 'ok' as const,
    token: session.token,
    expires_at: session.principal.expiresAt,
    operator: toOperator({ ...operator, lastLoginAt: now }),
  }
}

/**
 * Another operator lifts an operator's sign-in locks (as an admin does for
 * a tenant account): operators have no self-service reset, and every
 * operator's e-mail may be known, so this is how a locked one gets back in.
 * Audited as `operator.unlock` on the platform trail before it is made.
 */
export async function unlockOperator(env: Env, db: Database, caller: { actorId: string }, id: string, meta: RequestMeta) {
  const row = ID_PATTERN.test(id) ? await db.select().from(operators).where(eq(operators.id, id)).get() : undefined
  if (!row) throw Problem.notFound('operator', id)
  const key = accountKey(PLATFORM_REALM, row.email)
  const held = wasHeld(await accountHolds(env, key))
  await audit(env, meta, {
    tenantId: null,
    actor: { type: 'operator', id: caller.actorId },
    action: 'operator.unlock',
    target: { type: 'operator', id: row.id },
    outcome: 'success',
    details: { email: row.email, unlocked: held },
  })
  await releaseAccount(env, key)
  return { id: row.id, unlocked: held }
}
