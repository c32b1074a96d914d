import { and, desc, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { mfaChallenges, tenantMaintenance, tenants, users } from '../../db/schema'
import { mac } from '../../lib/crypto'
import type { Defer } from '../../lib/defer'
import { randomBytes, sha256Hex } from '../../lib/digest'
import { normaliseEmail } from '../../lib/email'
import { toBase64Url } from '../../lib/encoding'
import { describeError } from '../../lib/error-log'
import { newId } from '../../lib/ids'
import { flagInForce, maintenanceProblem } from '../../lib/maintenance'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { addMinutes, isoNow } from '../../lib/time'
import type { PasswordResetConfirm, PasswordResetRequest } from '../../schemas/auth'
import { announceTrip, type TripSubject } from '../abuse/announce'
import { abandon, apply, applyWhenFree, attemptId, count, fail, pass, reserve } from '../abuse/counters'
import { accountKey, accountObject, networkKeys, tenantRealm, type AccountKey } from '../abuse/keys'
import { assertNotRefused } from '../abuse/refusal'
import { releaseAccount, wasHeld } from '../abuse/release'
import { attemptedIdentifierHash } from '../identity/attempted-identifier'
import { endPendingChallenges, MFA_LIMITS, numericCode } from '../identity/mfa'
import { endActorSessions } from '../identity/sessions'
import { audit, auditChange } from '../audit/audit'
import { deliverMail, queueMail } from '../mail/mail'
import { codeMac, codeMacMatches } from '../keys/field-crypto'
import { legacyOtpMacKey } from '../keys/platform-keys'
import { messages, pickLocale } from '../../i18n'
import { loadPolicy } from '../policy/policy'
import { assertNotReused, assertStrongPassword, rememberPassword } from './password-policy'
import { hashPassword } from './passwords'
import { flagOfRow } from '../operations/tenant-flag-row'

/** Reset codes: 8 digits (one guess in 10^8), valid as long as a sign-in code, 5 tries each. */
const RESET_CODE_DIGITS = 8

type Target = { slug: string; email: string; key: AccountKey }

function targetOf(input: { tenant: string; email: string }): Target {
  const slug = input.tenant.trim().toLowerCase()
  const email = normaliseEmail(input.email)
  return { slug, email, key: accountKey(tenantRealm(slug), email) }
}

/** What throttle events of a reset key name, looked up only when one is announced (once per block). */
async function subjectOf(env: Env, db: Database, target: Target): Promise<TripSubject> {
  const row = await db
    .select({ tenantId: tenants.id, userId: users.id, email: users.email })
    .from(tenants)
    .leftJoin(users, and(eq(users.tenantId, tenants.id), eq(users.email, target.email)))
    .where(eq(tenants.slug, target.slug))
    .get()
  const emailHmac = await attemptedIdentifierHash(env, 'email', target.email)
  if (!row) return { tenantId: null, account: null, identity: { tenant_hmac: await attemptedIdentifierHash(env, 'tenant', target.slug), email_hmac: emailHmac } }
  if (!row.userId || !row.email) return { tenantId: row.tenantId, account: null, identity: { tenant: target.slug, email_hmac: emailHmac } }
  return { tenantId: row.tenantId, account: { type: 'user', id: row.userId, email: row.email }, identity: { email: row.email } }
}

/**
 * Self-service password reset, step one (SE-14, SE-30). Answers the same
 * way, at once, for every tenant and e-mail: after the throttles (30
 * requests or wrong codes an hour per network, 3 codes an hour per account
 * key, both counted whether or not the account exists) the work runs after
 * the answer, so its time tells nothing either. If the account exists and is
 * active in an active tenant, a single-use code valid for 10 minutes is
 * mailed to it (ending its earlier reset codes), audited as
 * `auth.password_reset_requested`. A tenant in maintenance is mailed
 * nothing, and the answer is the same 202: a 503 would tell anyone which
 * tenants exist (sign-in tells only past the password).
 */
export async function requestPasswordReset(env: Env, db: Database, input: PasswordResetRequest, meta: RequestMeta, defer: Defer): Promise<void> {
  const target = targetOf(input)
  const net = await networkKeys(env, meta.ip)
  const onNetwork = await apply(env, net.object, [count('reset_ip')])
  assertNotRefused(onNetwork.refused)
  const onAccount = await apply(env, await accountObject(env, target.key), [count('reset_mail')])
  assertNotRefused(onAccount.refused)
  defer(
    (async () => {
      await announceTrip(env, db, meta, defer, onNetwork.counted[0]!, { tenantId: null, account: null, identity: { network: net.network } })
      if (onAccount.counted[0]!.tripped) await announceTrip(env, db, meta, defer, onAccount.counted[0]!, await subjectOf(env, db, target))
      await mailResetCode(env, db, target, meta)
    })().catch(async (error) => {
      console.error(JSON.stringify({ level: 'error', msg: 'password reset request failed', request_id: meta.requestId, ...(await describeError(error)) }))
    }),
  )
}

async function mailResetCode(env: Env, db: Database, target: Target, meta: RequestMeta) {
  const row = await db
    .select({ user: users, tenantName: tenants.name, tenantLanguage: tenants.language, maintenance: tenantMaintenance })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .leftJoin(tenantMaintenance, eq(tenantMaintenance.tenantId, tenants.id))
    .where(and(eq(tenants.slug, target.slug), eq(users.email, target.email), eq(tenants.status, 'active'), eq(users.status, 'active')))
    .get()
  if (!row || flagInForce(flagOfRow(row.maintenance))) return
  const user = row.user
  const id = newId('mfa')
  const code = numericCode(RESET_CODE_DIGITS)
  const now = isoNow()
  const text = messages(pickLocale(user.language, row.tenantLanguage)).mail.passwordResetCode({ tenantName: row.tenantName, code, minutes: MFA_LIMITS.challengeMinutes })
  const mail = queueMail(db, { tenantId: user.tenantId, to: user.email, subject: text.subject, body: text.text, sensitive: true })
  await audit(
    env,
    meta,
    {
      tenantId: user.tenantId,
      actor: { type: 'user', id: user.id },
      action: 'auth.password_reset_requested',
      target: { type: 'user', id: user.id },
      outcome: 'success',
      details: { challenge_id: id, via: 'self_service' },
    },
    [
      db
        .update(mfaChallenges)
        .set({ expiresAt: now })
        .where(and(eq(mfaChallenges.accountId, user.id), eq(mfaChallenges.purpose, 'password_reset'), isNull(mfaChallenges.consumedAt), gt(mfaChallenges.expiresAt, now)))
        .toSQL(),
      db
        .insert(mfaChallenges)
        .values({
          id,
          tenantId: user.tenantId,
          accountId: user.id,
          // Nobody holds this token: the code is found through the tenant and e-mail it was mailed for.
          tokenHash: await sha256Hex(`reset:${toBase64Url(randomBytes(32))}`),
          codeMac: await codeMac(env, user.tenantId, `${id}:${code}`),
          methods: ['email'],
          purpose: 'password_reset',
          expiresAt: addMinutes(now, MFA_LIMITS.challengeMinutes),
          createdAt: now,
        })
        .toSQL(),
      mail.write,
    ],
  )
  await deliverMail(env, db, [mail.id])
}

function wrongCode() {
  return Problem.validation([{ path: 'body.code', message: 'This code is wrong, used up or expired. Ask for a new one (POST /api/v1/auth/password-reset).' }])
}

/**
 * Self-service password reset, step two: the mailed code and a new
 * password. A wrong code (or none, or no such account) answers one 422 on
 * `body.code` after the same work, the same for every tenant and e-mail:
 * one statement spends a try of the account's newest live code whether or
 * not there is one. Throttled per network and per account key (`reset_code`:
 * 10 wrong in a row, then a growing wait). With the right code the tenant's
 * password rules apply; then the password changes, the code is used up,
 * every session and pending challenge of the account ends, its sign-in and
 * second-factor locks are lifted, and the owner is told by mail. A tenant
 * in maintenance answers 503 once the code is proven right, and changes
 * nothing.
 */
export async function confirmPasswordReset(env: Env, db: Database, input: PasswordResetConfirm, meta: RequestMeta, defer: Defer) {
  const target = targetOf(input)
  const id = attemptId()
  const net = await networkKeys(env, meta.ip)
  assertNotRefused((await applyWhenFree(env, net.object, [reserve(id, 'reset_ip')])).refused)
  const object = await accountObject(env, target.key)
  const giveBack = () => apply(env, net.object, [abandon(id, 'reset_ip')])
  const onAccount = await applyWhenFree(env, object, [reserve(id, 'reset_code')]).catch(async (error) => {
    await giveBack()
    throw error
  })
  if (onAccount.refused) {
    await giveBack()
    assertNotRefused(onAccount.refused)
  }
  const now = isoNow()
  const newest = db
    .select({ id: mfaChallenges.id })
    .from(mfaChallenges)
    .innerJoin(users, eq(users.id, mfaChallenges.accountId))
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(
      and(
        eq(tenants.slug, target.slug),
        eq(users.email, target.email),
        eq(mfaChallenges.purpose, 'password_reset'),
        isNull(mfaChallenges.consumedAt),
        gt(mfaChallenges.expiresAt, now),
        lt(mfaChallenges.attempts, MFA_LIMITS.attempts),
      ),
    )
    .orderBy(desc(mfaChallenges.createdAt))
    .limit(1)
  const [tried] = await db
    .update(mfaChallenges)
    .set({ attempts: sql`${mfaChallenges.attempts} + 1` })
    .where(inArray(mfaChallenges.id, newest))
    .returning()
  const code = input.code.trim()
  // Without a code to compare with, the same HMAC work is done against nothing.
  const right = tried?.codeMac
    ? await codeMacMatches(env, tried.tenantId, `${tried.id}:${code}`, tried.codeMac)
    : (await mac(await legacyOtpMacKey(env), `none:${code}`), false)
  if (!tried || !right) {
    const [[onNetwork], [onCode]] = await Promise.all([
      apply(env, net.object, [fail(id, 'reset_ip')]).then((r) => r.counted),
      apply(env, object, [fail(id, 'reset_code')]).then((r) => r.counted),
    ])
    await announceTrip(env, db, meta, defer, onNetwork!, { tenantId: null, account: null, identity: { network: net.network } })
    if (onCode!.tripped) await announceTrip(env, db, meta, defer, onCode!, await subjectOf(env, db, target))
    throw wrongCode()
  }
  // The code was right: a weak new password below is no wrong guess.
  await Promise.all([apply(env, object, [pass(id, 'reset_code')]), apply(env, net.object, [pass(id, 'reset_ip')])])
  const row = await db
    .select({ user: users, tenantName: tenants.name, tenantLanguage: tenants.language, maintenance: tenantMaintenance })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .leftJoin(tenantMaintenance, eq(tenantMaintenance.tenantId, tenants.id))
    .where(and(eq(users.id, tried.accountId), eq(users.tenantId, tried.tenantId!)))
    .get()
  if (!row) throw wrongCode()
  // Only past the code, as sign-in only past the password, so the refusal names no tenant to someone without it.
  // The code stays good (one try spent) for when maintenance is over.
  const flag = flagOfRow(row.maintenance)
  if (flagInForce(flag)) throw maintenanceProblem(flag)
  const user = row.user
  const { policy } = await loadPolicy(db, user.tenantId)
  const field = 'body.new_password'
  assertStrongPassword(input.new_password, { email: user.email, tenantSlug: target.slug, minLength: policy.password_min_length }, field)
  await assertNotReused(db, user.id, user.passwordHash, input.new_password, policy.password_history, field)

  const released = await releaseAccount(env, target.key)
  const changedAt = isoNow()
  const text = messages(pickLocale(user.language, row.tenantLanguage)).mail.passwordChangedByReset({ tenantName: row.tenantName, at: changedAt })
  const notice = queueMail(db, { tenantId: user.tenantId, to: user.email, subject: text.subject, body: text.text })
  const held = wasHeld(released)
  await auditChange(
    env,
    meta,
    {
      tenantId: user.tenantId,
      actor: { type: 'user', id: user.id },
      action: 'auth.password_reset',
      target: { type: 'user', id: user.id },
      outcome: 'success',
      details: { via: 'self_service', challenge_id: tried.id, ...(held.length > 0 ? { unlocked: held } : {}) },
    },
    [
      // Used once, even by two racing confirmations with the same code.
      db.update(mfaChallenges).set({ consumedAt: changedAt }).where(and(eq(mfaChallenges.id, tried.id), isNull(mfaChallenges.consumedAt))).toSQL(),
      db
        .update(users)
        .set({
          passwordHash: await hashPassword(input.new_password),
          passwordChangedAt: changedAt,
          mustChangePassword: false,
          // The code just proved the mailbox.
          verifyEmailAtSignIn: false,
          updatedAt: changedAt,
        })
        .where(and(eq(users.id, user.id), eq(users.tenantId, user.tenantId)))
        .toSQL(),
      ...rememberPassword(db, { tenantId: user.tenantId, accountId: user.id }, user.passwordHash, changedAt),
      endPendingChallenges(db, user.id, changedAt),
      notice.write,
    ],
    wrongCode,
  )
  const revoked = await endActorSessions(env, { tenantId: user.tenantId, actorId: user.id })
  defer(deliverMail(env, db, [notice.id]))
  return { status: 'ok' as const, sessions_revoked: revoked }
}
