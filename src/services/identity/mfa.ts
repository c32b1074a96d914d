import { and, desc, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm'
import { Secret, TOTP } from 'otpauth'
import type { Database } from '../../db/client'
import { mfaChallenges, mfaFactors, recoveryCodes } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { randomBytes, sha256Hex } from '../../lib/digest'
import { toBase64Url } from '../../lib/encoding'
import { newId } from '../../lib/ids'
import type { Defer } from '../../lib/defer'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { addMinutes, isoNow } from '../../lib/time'
import { messages, type Locale } from '../../i18n'
import { audit, auditChange } from '../audit/audit'
import { codeMac, codeMacCandidates, codeMacMatches, openForOwner, sealForOwner } from '../keys/field-crypto'
import { legacyFactorSecretKey } from '../keys/platform-keys'
import { deliverMail, queueMail } from '../mail/mail'
import type { TripSubject } from '../abuse/announce'
import { accountKey, type AccountKey } from '../abuse/keys'
import { checkChallengeNetwork, countDeadChallenge, countMailedCode, openFactorGate } from '../abuse/second-factor-gate'

/**
 * An account that can hold second factors: a tenant user or an operator.
 * `realm` (a tenant's slug realm, or the platform's) names its throttle:
 * code guessing is counted per account across all its challenges.
 * `locale` is the language of its mail (the account's, else its tenant's),
 * known to every caller from the rows it read anyway.
 */
export type MfaAccount = { type: 'user' | 'operator'; id: string; tenantId: string | null; email: string; realm?: string; locale: Locale }

/** An account whose wrong codes and mailed codes are counted. */
export type KeyedAccount = MfaAccount & { realm: string }

function throttleKeyOf(account: KeyedAccount): AccountKey {
  return accountKey(account.realm, account.email)
}

/** Who an account's throttle events are about. */
function tripSubject(account: MfaAccount): TripSubject {
  return { tenantId: account.tenantId, account: { type: account.type, id: account.id, email: account.email }, identity: { email: account.email } }
}

export type MfaMethod = 'email' | 'totp' | 'recovery_code'

export const MFA_LIMITS = {
  /** An e-mailed code and its challenge live this long (SE-47: at most 10 minutes). */
  challengeMinutes: 10,
  attempts: 5,
  codeDigits: 6,
  /** TOTP steps of drift accepted on either side (30 s each). */
  totpWindow: 1,
  recoveryCodes: 10,
} as const

const CHALLENGE_TOKEN = /^mc1\.[A-Za-z0-9_-]{43}$/
const TOTP_PERIOD = 30

/** A uniformly random decimal code from the CSPRNG (rejection sampling, no modulo bias). */
export function numericCode(digits: number): string {
  let out = ''
  while (out.length < digits) {
    for (const b of randomBytes(16)) if (b < 250 && out.length < digits) out += String(b % 10)
  }
  return out
}

/** Recovery codes: 10 base32 characters (50 bits) as `xxxxx-xxxxx`. */
function recoveryCode(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789'
  const chars = Array.from(randomBytes(10), (b) => alphabet[b % 32]).join('')
  return `${chars.slice(0, 5)}-${chars.slice(5)}`
}

function totpFor(account: MfaAccount, base32: string) {
  return new TOTP({ issuer: 'Mamori', label: account.email, algorithm: 'SHA1', digits: 6, period: TOTP_PERIOD, secret: Secret.fromBase32(base32) })
}

function secretAad(account: Pick<MfaAccount, 'id'>) {
  return `mfa-secret:${account.id}`
}

function chainOf(account: MfaAccount) {
  return account.tenantId
}

function auditActor(account: MfaAccount) {
  return { type: account.type, id: account.id }
}

export async function activeFactors(db: Database, accountId: string) {
  return db
    .select()
    .from(mfaFactors)
    .where(and(eq(mfaFactors.accountId, accountId), eq(mfaFactors.status, 'active')))
}

export type Challenge = { challenge: string; methods: MfaMethod[] }

type ChallengeOptions = { emailOnly?: boolean; enrol?: boolean }
type FactorRow = typeof mfaFactors.$inferSelect

/** The methods a new challenge offers, and whether it enrols e-mail OTP (see startChallenge). */
function challengePlan(factors: FactorRow[], options: ChallengeOptions) {
  const enroll = factors.length === 0 && options.enrol !== false
  const methods: MfaMethod[] = enroll || options.emailOnly ? ['email'] : factors.map((f) => f.kind)
  if (methods.includes('totp')) methods.push('recovery_code')
  return { enroll, methods }
}

/** Whether a challenge started with these factors and options mails a code (it then counts against the mail cap). */
export function challengeMailsCode(factors: FactorRow[], options: ChallengeOptions = {}): boolean {
  return challengePlan(factors, options).methods.includes('email')
}

/**
 * The write that ends every pending challenge of an account, for the batch
 * of a password change, reset or disable: a second step begun before it
 * (with the old password, or while the account was active) must not finish
 * after it. Ended challenges count as expired; the sweep removes them.
 */
export function endPendingChallenges(db: Database, accountId: string, now: string): SqlWrite {
  return db
    .update(mfaChallenges)
    .set({ expiresAt: now })
    .where(and(eq(mfaChallenges.accountId, accountId), isNull(mfaChallenges.consumedAt), gt(mfaChallenges.expiresAt, now)))
    .toSQL()
}

/**
 * Starts the second step of a sign-in. With factors, the caller may answer
 * with any of them; without any (`enroll`), an e-mailed code both signs in
 * and enrols e-mail OTP, which is how enrolment is forced when the policy
 * requires a factor; `enrol: false` (nothing requires a factor) asks for
 * the code without enrolling anything. `emailOnly` (after an operator reset,
 * and at a new tenant's first admin sign-in) accepts nothing but a code
 * mailed to the account's own address. An e-mail code goes out at once when
 * e-mail is a method.
 */
export async function startChallenge(
  env: Env,
  db: Database,
  account: MfaAccount,
  meta: RequestMeta,
  defer: Defer,
  options: ChallengeOptions & { factors?: FactorRow[] } = {},
): Promise<Challenge> {
  const factors = options.factors ?? (await activeFactors(db, account.id))
  const { enroll, methods } = challengePlan(factors, options)
  const id = newId('mfa')
  const token = `mc1.${toBase64Url(randomBytes(32))}`
  const now = isoNow()
  const writes: SqlWrite[] = []
  let mailId: string | null = null
  let mailedMac: string | null = null
  if (methods.includes('email')) {
    const code = numericCode(MFA_LIMITS.codeDigits)
    mailedMac = await codeMac(env, account.tenantId, `${id}:${code}`)
    const text = messages(account.locale).mail.signInCode({ code, minutes: MFA_LIMITS.challengeMinutes })
    const mail = queueMail(db, { tenantId: account.tenantId, to: account.email, subject: text.subject, body: text.text, sensitive: true })
    mailId = mail.id
    writes.push(mail.write)
  }
  writes.unshift(
    db
      .insert(mfaChallenges)
      .values({
        id,
        tenantId: account.tenantId,
        accountId: account.id,
        tokenHash: await sha256Hex(token),
        codeMac: mailedMac,
        methods,
        purpose: enroll ? 'enroll' : 'login',
        expiresAt: addMinutes(now, MFA_LIMITS.challengeMinutes),
        createdAt: now,
      })
      .toSQL(),
  )
  await audit(
    env,
    meta,
    {
      tenantId: chainOf(account),
      actor: auditActor(account),
      action: mailId ? 'mfa.code_sent' : 'mfa.challenge',
      target: { type: account.type, id: account.id },
      outcome: 'success',
      details: { challenge_id: id, methods, ...(enroll ? { enrolment: 'email' } : {}) },
    },
    writes,
  )
  if (mailId) defer(deliverMail(env, db, [mailId]))
  return { challenge: token, methods }
}

function mfaFailed(detail: string) {
  return new Problem({ status: 401, type: 'mfa-failed', title: 'Second factor failed', detail })
}

/** Checks a TOTP code and burns its time step, so the same code is never accepted twice. */
async function acceptTotp(env: Env, db: Database, account: MfaAccount, factor: typeof mfaFactors.$inferSelect, code: string) {
  if (!factor.secret || !/^\d{6}$/.test(code)) return false
  const { plaintext: base32, legacy } = await openFactorSecret(env, account, factor.secret)
  const now = Date.now()
  const delta = totpFor(account, base32).validate({ token: code, timestamp: now, window: MFA_LIMITS.totpWindow })
  if (delta === null) return false
  const step = Math.floor(now / 1000 / TOTP_PERIOD) + delta
  const burned = await db
    .update(mfaFactors)
    .set({ lastUsedStep: step })
    .where(and(eq(mfaFactors.id, factor.id), lt(mfaFactors.lastUsedStep, step)))
    .returning({ id: mfaFactors.id })
  // A legacy secret is sealed again under the tenant's data key once it is proven; a concurrent upgrade wins.
  if (burned.length === 1 && legacy) await upgradeFactorSecret(env, db, account, factor.id, factor.secret, base32)
  return burned.length === 1
}

function openFactorSecret(env: Env, account: MfaAccount, sealed: string) {
  return openForOwner(env, account.tenantId, sealed, secretAad(account), () => legacyFactorSecretKey(env, account.tenantId))
}

/** Re-seals a `v1.` TOTP secret under the owner's data key, unless it changed meanwhile. Returns whether it did. */
async function upgradeFactorSecret(env: Env, db: Database, account: Pick<MfaAccount, 'id' | 'tenantId'>, factorId: string, sealed: string, base32: string) {
  const resealed = await sealForOwner(env, account.tenantId, base32, secretAad(account))
  const done = await db
    .update(mfaFactors)
    .set({ secret: resealed })
    .where(and(eq(mfaFactors.id, factorId), eq(mfaFactors.secret, sealed)))
    .returning({ id: mfaFactors.id })
  return done.length === 1
}

/**
 * Re-seals up to `limit` legacy (`v1.`) TOTP secrets under their owners'
 * data keys, for the master-key rotation: after it, no secret depends on a
 * derived key. Returns how many it re-sealed and how many are left.
 */
export async function upgradeLegacyFactorSecrets(env: Env, db: Database, limit: number): Promise<{ upgraded: number; remaining: number }> {
  const legacy = () => and(eq(mfaFactors.kind, 'totp'), sql`${mfaFactors.secret} LIKE 'v1.%'`)
  const rows = limit > 0 ? await db.select().from(mfaFactors).where(legacy()).limit(limit).all() : []
  let upgraded = 0
  for (const row of rows) {
    const account = { id: row.accountId, tenantId: row.tenantId }
    const { plaintext } = await openForOwner(env, row.tenantId, row.secret!, secretAad(account), () => legacyFactorSecretKey(env, row.tenantId))
    if (await upgradeFactorSecret(env, db, account, row.id, row.secret!, plaintext)) upgraded++
  }
  const left = await db.select({ n: sql<number>`count(*)` }).from(mfaFactors).where(legacy()).get()
  return { upgraded, remaining: left?.n ?? 0 }
}

/**
 * What is stored of a recovery code: an HMAC under the owner's code-MAC key
 * (derived from its data key, which D1 holds only wrapped), so a copy of the
 * table alone cannot be brute-forced offline.
 */
async function recoveryCodeMac(env: Env, tenantId: string | null, code: string) {
  return codeMac(env, tenantId, `recovery:${code}`)
}

/**
 * Uses up a recovery code. Codes stored before data keys (unprefixed, under
 * the legacy shared key) still match; the one used is stored again in the
 * current form, as each code can only be re-keyed when it is typed.
 */
async function acceptRecoveryCode(env: Env, db: Database, account: MfaAccount, code: string) {
  const normalised = code.trim().toLowerCase()
  if (!/^[a-z2-9]{5}-[a-z2-9]{5}$/.test(normalised)) return false
  const unused = await db
    .select({ codeHash: recoveryCodes.codeHash })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.accountId, account.id), isNull(recoveryCodes.usedAt)))
    .all()
  if (unused.length === 0) return false
  const candidates = await codeMacCandidates(env, account.tenantId, `recovery:${normalised}`, unused.map((r) => r.codeHash))
  const used = await db
    .update(recoveryCodes)
    .set({ usedAt: isoNow(), codeHash: await recoveryCodeMac(env, account.tenantId, normalised) })
    .where(and(eq(recoveryCodes.accountId, account.id), inArray(recoveryCodes.codeHash, candidates), isNull(recoveryCodes.usedAt)))
    .returning({ id: recoveryCodes.id })
  return used.length >= 1
}

export type CompletedChallenge = { accountId: string; tenantId: string | null; method: MfaMethod; enrolled: boolean }

/** The purposes a sign-in challenge token may carry; step-up and reset codes have tokens nobody holds. */
const SIGN_IN_PURPOSES = ['login', 'enroll'] as const

/**
 * Answers a challenge. Each answer counts as a try, right or wrong, before
 * it is checked; after 5 tries, expiry or one success the challenge is dead.
 * A correct answer consumes the challenge exactly once even under races.
 *
 * Guessing is bounded beyond the challenge too (SE-30): before any read, a
 * network that answered too many dead or unknown challenges is refused
 * (429 `challenge`), and each such answer counts against it; a live
 * challenge's answer counts against its account's run of wrong codes across
 * all challenges (`mfa`), which at 10 locks the account's second step and
 * ends its pending challenges. Malformed tokens cost nothing and are not counted.
 */
export async function completeChallenge(
  env: Env,
  db: Database,
  expected: { type: MfaAccount['type'] },
  token: string,
  code: string,
  meta: RequestMeta,
  defer: Defer,
  lookup: (accountId: string) => Promise<KeyedAccount | null>,
): Promise<CompletedChallenge> {
  const dead = () => mfaFailed('This sign-in attempt has expired or used up its tries. Sign in again.')
  if (!CHALLENGE_TOKEN.test(token)) throw dead()
  await checkChallengeNetwork(env, meta.ip)
  const now = isoNow()
  const tokenHash = await sha256Hex(token)
  const found = await db
    .select()
    .from(mfaChallenges)
    .where(and(eq(mfaChallenges.tokenHash, tokenHash), inArray(mfaChallenges.purpose, [...SIGN_IN_PURPOSES])))
    .get()
  const live = found && !found.consumedAt && found.expiresAt > now && found.attempts < MFA_LIMITS.attempts
  if (!found || !live) {
    await countDeadChallenge(env, db, meta, defer)
    if (found) {
      // Expired, used up or already used: an answer to it is still an attempt worth recording.
      await audit(env, meta, {
        tenantId: found.tenantId,
        actor: { type: expected.type, id: found.accountId },
        action: 'mfa.code_failed',
        target: { type: expected.type, id: found.accountId },
        outcome: 'failure',
        details: { challenge_id: found.id, reason: found.consumedAt ? 'already_used' : found.attempts >= MFA_LIMITS.attempts ? 'no_tries_left' : 'expired' },
      })
    }
    throw dead()
  }
  const account = await lookup(found.accountId)
  if (!account || account.type !== expected.type) throw dead()
  // Counted before the challenge spends its try, so a locked second step is refused with no write.
  const gate = await openFactorGate(env, throttleKeyOf(account))
  const [challenge] = await db
    .update(mfaChallenges)
    .set({ attempts: sql`${mfaChallenges.attempts} + 1` })
    .where(
      and(
        eq(mfaChallenges.id, found.id),
        isNull(mfaChallenges.consumedAt),
        gt(mfaChallenges.expiresAt, now),
        lt(mfaChallenges.attempts, MFA_LIMITS.attempts),
      ),
    )
    .returning()
  if (!challenge) {
    await gate.untried()
    throw dead()
  }

  const methods = challenge.methods as MfaMethod[]
  const code6 = code.trim()
  let method: MfaMethod | null = null
  if (methods.includes('email') && challenge.codeMac && (await codeMacMatches(env, account.tenantId, `${challenge.id}:${code6}`, challenge.codeMac))) {
    method = 'email'
  } else if (methods.includes('totp')) {
    const factor = (await activeFactors(db, account.id)).find((f) => f.kind === 'totp')
    if (factor && (await acceptTotp(env, db, account, factor, code6))) method = 'totp'
    else if (await acceptRecoveryCode(env, db, account, code6)) method = 'recovery_code'
  }

  const entry = { tenantId: chainOf(account), actor: auditActor(account), target: { type: account.type, id: account.id } }
  if (!method) {
    const left = MFA_LIMITS.attempts - challenge.attempts
    await audit(env, meta, { ...entry, action: 'mfa.code_failed', outcome: 'failure', details: { challenge_id: challenge.id, tries_left: left } })
    await gate.failed(db, meta, defer, tripSubject(account), [endPendingChallenges(db, account.id, isoNow())])
    throw mfaFailed(left > 0 ? `The code is wrong. ${left} ${left === 1 ? 'try' : 'tries'} left.` : 'The code is wrong and no tries are left. Sign in again.')
  }
  await auditChange(
    env,
    meta,
    { ...entry, action: 'mfa.verified', outcome: 'success', details: { challenge_id: challenge.id, method } },
    [db.update(mfaChallenges).set({ consumedAt: now }).where(and(eq(mfaChallenges.id, challenge.id), isNull(mfaChallenges.consumedAt))).toSQL()],
    dead,
  )
  await gate.passed({ mailed: challenge.codeMac !== null })
  const enrolled = challenge.purpose === 'enroll'
  if (enrolled) await enrol(env, db, account, 'email', meta, { via: 'sign-in' })
  return { accountId: account.id, tenantId: account.tenantId, method, enrolled }
}

/** Activates a factor of `kind` (idempotent for e-mail). */
async function enrol(env: Env, db: Database, account: MfaAccount, kind: 'email', meta: RequestMeta, details: Record<string, unknown>) {
  const now = isoNow()
  await audit(
    env,
    meta,
    { tenantId: chainOf(account), actor: auditActor(account), action: 'mfa.enrolled', target: { type: account.type, id: account.id }, outcome: 'success', details: { kind, ...details } },
    [
      db
        .insert(mfaFactors)
        .values({ id: newId('mf'), tenantId: account.tenantId, accountId: account.id, kind, status: 'active', createdAt: now, confirmedAt: now })
        .onConflictDoNothing()
        .toSQL(),
    ],
  )
}

/** Turns on e-mailed one-time codes for the account (SE-47); already on, nothing changes. */
export async function enableEmailFactor(env: Env, db: Database, account: MfaAccount, meta: RequestMeta) {
  if ((await activeFactors(db, account.id)).some((f) => f.kind === 'email')) return
  await enrol(env, db, account, 'email', meta, { via: 'settings' })
}

/**
 * Starts TOTP enrolment: a fresh secret, stored encrypted as a pending
 * factor until a first code confirms it. Returns the otpauth:// URI.
 */
export async function beginTotp(env: Env, db: Database, account: MfaAccount, meta: RequestMeta, details: Record<string, unknown> = {}) {
  const secret = new Secret({ size: 20 })
  const sealed = await sealForOwner(env, account.tenantId, secret.base32, secretAad(account))
  const now = isoNow()
  await audit(
    env,
    meta,
    { tenantId: chainOf(account), actor: auditActor(account), action: 'mfa.totp_started', target: { type: account.type, id: account.id }, outcome: 'success', details },
    [
      db.delete(mfaFactors).where(and(eq(mfaFactors.accountId, account.id), eq(mfaFactors.kind, 'totp'), eq(mfaFactors.status, 'pending'))).toSQL(),
      db
        .insert(mfaFactors)
        .values({ id: newId('mf'), tenantId: account.tenantId, accountId: account.id, kind: 'totp', status: 'pending', secret: sealed, createdAt: now })
        .toSQL(),
    ],
  )
  return { uri: totpFor(account, secret.base32).toString() }
}

/**
 * Confirms a pending TOTP factor with a first code: it replaces any earlier
 * TOTP factor, and 10 new recovery codes (shown once, stored hashed)
 * replace the old ones.
 */
export async function confirmTotp(env: Env, db: Database, account: MfaAccount, code: string, meta: RequestMeta) {
  const pending = await db
    .select()
    .from(mfaFactors)
    .where(and(eq(mfaFactors.accountId, account.id), eq(mfaFactors.kind, 'totp'), eq(mfaFactors.status, 'pending')))
    .get()
  if (!pending) throw Problem.conflict('Start TOTP enrolment first (POST …/me/mfa/totp).', 'no-pending-enrolment')
  if (!(await acceptTotp(env, db, account, pending, code.trim()))) {
    throw Problem.validation([{ path: 'body.code', message: 'This code does not match the new authenticator.' }])
  }
  const now = isoNow()
  const codes = Array.from({ length: MFA_LIMITS.recoveryCodes }, recoveryCode)
  const hashed = await Promise.all(codes.map((c) => recoveryCodeMac(env, account.tenantId, c)))
  await auditChange(
    env,
    meta,
    { tenantId: chainOf(account), actor: auditActor(account), action: 'mfa.enrolled', target: { type: account.type, id: account.id }, outcome: 'success', details: { kind: 'totp' } },
    [
      db.delete(mfaFactors).where(and(eq(mfaFactors.accountId, account.id), eq(mfaFactors.kind, 'totp'), eq(mfaFactors.status, 'active'))).toSQL(),
      db.delete(recoveryCodes).where(eq(recoveryCodes.accountId, account.id)).toSQL(),
      db
        .insert(recoveryCodes)
        .values(hashed.map((codeHash) => ({ id: newId('rc'), tenantId: account.tenantId, accountId: account.id, codeHash, createdAt: now })))
        .toSQL(),
      db.update(mfaFactors).set({ status: 'active', confirmedAt: now }).where(eq(mfaFactors.id, pending.id)).toSQL(),
    ],
    () => Problem.conflict('The enrolment changed meanwhile; start again.', 'no-pending-enrolment'),
    3,
  )
  return { recovery_codes: codes }
}

/** Removes every factor and recovery code of the account. */
export async function removeFactors(env: Env, db: Database, account: MfaAccount, meta: RequestMeta, details: Record<string, unknown> = {}) {
  const removed = await db.select({ kind: mfaFactors.kind }).from(mfaFactors).where(eq(mfaFactors.accountId, account.id))
  await audit(
    env,
    meta,
    {
      tenantId: chainOf(account),
      actor: auditActor(account),
      action: 'mfa.removed',
      target: { type: account.type, id: account.id },
      outcome: 'success',
      details: { kinds: removed.map((r) => r.kind), ...details },
    },
    [db.delete(mfaFactors).where(eq(mfaFactors.accountId, account.id)).toSQL(), db.delete(recoveryCodes).where(eq(recoveryCodes.accountId, account.id)).toSQL()],
  )
}

/**
 * Mails a one-time code that confirms a change to the account's own factors
 * (step-up), for accounts whose second factor is e-mail. It lives like a
 * sign-in code (10 minutes, 5 tries, once) but belongs to no sign-in: its
 * challenge token is never handed out, so it cannot finish one. A new code
 * ends the account's earlier step-up codes. It counts against the account's
 * hourly cap of unanswered mailed codes (429 `mfa_mail`), and none is sent
 * while the account's second step is locked (429 `mfa`).
 */
export async function sendStepUpCode(env: Env, db: Database, account: KeyedAccount, meta: RequestMeta, defer: Defer) {
  if (!(await activeFactors(db, account.id)).some((f) => f.kind === 'email')) {
    throw Problem.conflict(
      'E-mailed codes are not one of your second factors. Confirm with a code from your authenticator app or a recovery code instead.',
      'no-email-factor',
    )
  }
  await countMailedCode(env, db, meta, defer, throttleKeyOf(account), tripSubject(account))
  const id = newId('mfa')
  const code = numericCode(MFA_LIMITS.codeDigits)
  const now = isoNow()
  const expiresAt = addMinutes(now, MFA_LIMITS.challengeMinutes)
  const text = messages(account.locale).mail.stepUpCode({ code, minutes: MFA_LIMITS.challengeMinutes })
  const mail = queueMail(db, { tenantId: account.tenantId, to: account.email, subject: text.subject, body: text.text, sensitive: true })
  await audit(
    env,
    meta,
    {
      tenantId: chainOf(account),
      actor: auditActor(account),
      action: 'mfa.code_sent',
      target: { type: account.type, id: account.id },
      outcome: 'success',
      details: { challenge_id: id, methods: ['email'], purpose: 'step_up' },
    },
    [
      db
        .update(mfaChallenges)
        .set({ expiresAt: now })
        .where(and(eq(mfaChallenges.accountId, account.id), eq(mfaChallenges.purpose, 'step_up'), isNull(mfaChallenges.consumedAt), gt(mfaChallenges.expiresAt, now)))
        .toSQL(),
      db
        .insert(mfaChallenges)
        .values({
          id,
          tenantId: account.tenantId,
          accountId: account.id,
          tokenHash: await sha256Hex(`step-up:${toBase64Url(randomBytes(32))}`),
          codeMac: await codeMac(env, account.tenantId, `${id}:${code}`),
          methods: ['email'],
          purpose: 'step_up',
          expiresAt,
          createdAt: now,
        })
        .toSQL(),
      mail.write,
    ],
  )
  defer(deliverMail(env, db, [mail.id]))
  return { expires_at: expiresAt }
}

/** Checks `code` against the account's live step-up code, spending one of its tries, and uses it up if right. */
async function acceptStepUpCode(env: Env, db: Database, account: MfaAccount, code: string) {
  const accountId = account.id
  if (!/^\d{6}$/.test(code)) return false
  const now = isoNow()
  const live = await db
    .select({ id: mfaChallenges.id })
    .from(mfaChallenges)
    .where(
      and(
        eq(mfaChallenges.accountId, accountId),
        eq(mfaChallenges.purpose, 'step_up'),
        isNull(mfaChallenges.consumedAt),
        gt(mfaChallenges.expiresAt, now),
        lt(mfaChallenges.attempts, MFA_LIMITS.attempts),
      ),
    )
    .orderBy(desc(mfaChallenges.createdAt))
    .get()
  if (!live) return false
  const [tried] = await db
    .update(mfaChallenges)
    .set({ attempts: sql`${mfaChallenges.attempts} + 1` })
    .where(and(eq(mfaChallenges.id, live.id), isNull(mfaChallenges.consumedAt), lt(mfaChallenges.attempts, MFA_LIMITS.attempts)))
    .returning()
  if (!tried?.codeMac || !(await codeMacMatches(env, account.tenantId, `${tried.id}:${code}`, tried.codeMac))) return false
  const used = await db
    .update(mfaChallenges)
    .set({ consumedAt: now })
    .where(and(eq(mfaChallenges.id, tried.id), isNull(mfaChallenges.consumedAt)))
    .returning({ id: mfaChallenges.id })
  return used.length === 1
}

/**
 * Checks a current second factor of the account before a change to its
 * factors: a TOTP code (its time step is burned), an unused recovery code
 * (used up), or the code mailed by sendStepUpCode (used up). Returns the
 * method that matched, or null. Each call counts against the account's run
 * of wrong second-factor codes, shared with its sign-in challenges (429
 * `mfa` once locked); every call also needs the current password first.
 */
export async function verifyCurrentFactor(env: Env, db: Database, account: KeyedAccount, code: string, meta: RequestMeta, defer: Defer): Promise<MfaMethod | null> {
  const gate = await openFactorGate(env, throttleKeyOf(account))
  const trimmed = code.trim()
  const factors = await activeFactors(db, account.id)
  const totp = factors.find((f) => f.kind === 'totp')
  let method: MfaMethod | null = null
  if (totp && (await acceptTotp(env, db, account, totp, trimmed))) method = 'totp'
  else if (totp && (await acceptRecoveryCode(env, db, account, trimmed))) method = 'recovery_code'
  else if (factors.some((f) => f.kind === 'email') && (await acceptStepUpCode(env, db, account, trimmed))) method = 'email'
  if (method) await gate.passed({ mailed: method === 'email' })
  else await gate.failed(db, meta, defer, tripSubject(account), [endPendingChallenges(db, account.id, isoNow())])
  return method
}

/**
 * Deletes challenges that expired, at most `limit` per call, oldest first
 * (the five-minute job; what remains goes on the next run). Returns how many
 * went.
 */
export async function sweepExpiredChallenges(db: Database, now: string, limit: number): Promise<number> {
  const expired = db.select({ id: mfaChallenges.id }).from(mfaChallenges).where(lt(mfaChallenges.expiresAt, now)).orderBy(mfaChallenges.expiresAt).limit(limit)
  const deleted = await db.delete(mfaChallenges).where(inArray(mfaChallenges.id, expired)).returning({ id: mfaChallenges.id })
  return deleted.length
}
