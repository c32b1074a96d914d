import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { pickLocale } from '../../i18n'
import { operators } from '../../db/schema'
import type { Defer } from '../../lib/defer'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import { PLATFORM } from '../../schemas/policy'
import type { Principal } from '../../schemas/principal'
import { auditChange } from '../audit/audit'
import { assertNotReused, assertStrongPassword, rememberPassword } from '../passwords/password-policy'
import { hashPassword } from '../passwords/passwords'
import { beginTotp, confirmTotp, endPendingChallenges, sendStepUpCode, type KeyedAccount } from './mfa'
import { assertCurrentFactor } from './factor-proof'
import { toOperator } from './operators'
import { endActorSessions, issueSession } from './sessions'
import type { AuditAction } from '../../schemas/audit'
import { database } from '../../db/client'
import { PLATFORM_REALM } from '../abuse/keys'
import { assertCurrentPasswordThrottled } from '../passwords/current-password'

type OperatorRow = typeof operators.$inferSelect

/**
 * An operator's own password and second factors (SE-13, SE-15, SE-16): the
 * same password rules as tenant accounts at the platform's minimums, and
 * TOTP through the same enrolment as tenant users.
 */

/** The caller's own operator row; the session must still point at an active operator. */
async function currentOperator(db: Database, principal: Principal): Promise<OperatorRow> {
  const row = await db.select().from(operators).where(eq(operators.id, principal.actorId)).get()
  if (!row || row.status !== 'active') throw Problem.unauthenticated('This operator account no longer exists or is disabled.')
  return row
}

function accountOf(row: OperatorRow): KeyedAccount {
  return { type: 'operator', id: row.id, tenantId: null, email: row.email, realm: PLATFORM_REALM, locale: pickLocale(row.language) }
}

/** Re-authentication for sensitive changes: the shared check (422, audited), behind the operator's `reauth` throttle. */
function assertCurrentPassword(env: Env, row: OperatorRow, password: string, meta: RequestMeta, action: AuditAction) {
  const who = { type: 'operator' as const, id: row.id, tenantId: null, email: row.email, passwordHash: row.passwordHash, realm: PLATFORM_REALM }
  return assertCurrentPasswordThrottled(env, database(env), who, password, meta, action)
}

/**
 * Changes the caller's password after checking the current one, the
 * platform's length rule, guessability and the no-reuse history. Every
 * session of the operator ends, the caller's too, and a new full session
 * is returned: a password-change-only session never becomes full under its
 * old token.
 */
export async function changeOperatorPassword(
  env: Env,
  db: Database,
  principal: Principal,
  input: { current_password: string; new_password: string },
  meta: RequestMeta,
) {
  const row = await currentOperator(db, principal)
  await assertCurrentPassword(env, row, input.current_password, meta, 'auth.password_change')
  const field = 'body.new_password'
  assertStrongPassword(input.new_password, { email: row.email, tenantSlug: null, minLength: PLATFORM.passwordMinLength }, field)
  await assertNotReused(db, row.id, row.passwordHash, input.new_password, PLATFORM.passwordHistory.min, field)
  const now = isoNow()
  const changed = { passwordHash: await hashPassword(input.new_password), passwordChangedAt: now, mustChangePassword: false }
  await auditChange(
    env,
    meta,
    { tenantId: null, actor: { type: 'operator', id: row.id }, action: 'auth.password_change', target: { type: 'operator', id: row.id }, outcome: 'success' },
    [
      // Only over the password that was checked: a change meanwhile wins.
      db
        .update(operators)
        .set(changed)
        .where(and(eq(operators.id, row.id), eq(operators.passwordHash, row.passwordHash), eq(operators.status, 'active')))
        .toSQL(),
      ...rememberPassword(db, { tenantId: null, accountId: row.id }, row.passwordHash, now),
      // A sign-in started with the old password must not finish after the change.
      endPendingChallenges(db, row.id, now),
    ],
    () => Problem.editConflict('Your password or account was changed meanwhile. Sign in again.'),
  )
  const session = await issueSession(env, {
    actorType: 'operator',
    actorId: row.id,
    tenantId: null,
    role: 'operator',
    permissions: [],
    kind: 'full',
    ip: meta.ip,
    userAgent: meta.userAgent,
    passwordVersion: now,
    meta,
  })
  await endActorSessions(env, { tenantId: null, actorId: row.id }, session.principal.sessionId)
  return { status: 'ok' as const, token: session.token, expires_at: session.principal.expiresAt, operator: toOperator({ ...row, ...changed }) }
}

/** Where an operator gets a mailed code that confirms a factor change. */
const STEP_UP_ROUTE = '/ops/v1/me/mfa/code'

/**
 * Starts TOTP enrolment for the caller; returns the otpauth:// URI. Confirming
 * it replaces the earlier authenticator, so it needs the current password and
 * a current second factor (`code`).
 */
export async function startOperatorTotp(
  env: Env,
  db: Database,
  principal: Principal,
  input: { current_password: string; code?: string | undefined },
  meta: RequestMeta,
) {
  const row = await currentOperator(db, principal)
  await assertCurrentPassword(env, row, input.current_password, meta, 'mfa.totp_started')
  const confirmed = await assertCurrentFactor(env, db, accountOf(row), input.code, meta, 'mfa.totp_started', STEP_UP_ROUTE)
  return beginTotp(env, db, accountOf(row), meta, confirmed)
}

/** Mails the caller a code that confirms a change to their own factors. */
export async function mailOperatorFactorChangeCode(env: Env, db: Database, principal: Principal, meta: RequestMeta, defer: Defer) {
  return sendStepUpCode(env, db, accountOf(await currentOperator(db, principal)), meta, defer)
}

/** Confirms the caller's pending TOTP enrolment with a first code; returns the recovery codes, shown once. */
export async function confirmOperatorTotp(env: Env, db: Database, principal: Principal, code: string, meta: RequestMeta) {
  return confirmTotp(env, db, accountOf(await currentOperator(db, principal)), code, meta)
}
