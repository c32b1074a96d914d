import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test'
import * as OTPAuth from 'otpauth'
import { describe, expect, it } from 'vitest'
import { CHALLENGE_SWEEP_LIMIT } from '../src/cron/challenge-sweep'
import worker from '../src/index'
import { sha256Hex } from '../src/lib/digest'
import { codeMac } from '../src/services/keys/field-crypto'
import { OPERATOR, call, expectProblem, lastCode, lastMail, operator, signIn, strongPassword, tenantWithAdmin, userOf, type TestTenant } from './helpers'

/** How the service stores a recovery code (an HMAC, never the code). */
async function recoveryMac(tenantId: string, code: string) {
  return codeMac(env, tenantId, `recovery:${code}`)
}

/**
 * Second factors (SE-16, SE-47): e-mailed one-time codes, TOTP with
 * recovery codes, their enrolment and removal, and the operators' always-on
 * second step. Every test makes its own tenant; the operator of this file is
 * bootstrapped by the first test, whose sign-in is the operator's first.
 */

const CHALLENGE = /^mc1\.[A-Za-z0-9_-]{43}$/
const RECOVERY_CODE = /^[a-z2-9]{5}-[a-z2-9]{5}$/
const STEP_MS = 30_000

type AuditRow = {
  chain: string
  tenant_id: string | null
  actor_type: string
  actor_id: string | null
  action: string
  target_type: string | null
  target_id: string | null
  outcome: string
  details: Record<string, unknown>
}

/** Per admin: the last audit seq of the tenant's setup (its first sign-in answers a mailed code too). */
const setupSeq = new Map<string, number>()

/** A tenant whose admin is past the first sign-in; auditOf() shows only what the admin does afterwards. */
async function freshTenant(): Promise<TestTenant> {
  const t = await tenantWithAdmin()
  const head = await env.DB.prepare('SELECT max(seq) AS seq FROM audit_events WHERE chain = ?').bind(t.id).first<{ seq: number }>()
  setupSeq.set(t.adminId, head!.seq)
  return t
}

/** The audit events of one actor since its setup, oldest first, optionally of one action. */
async function auditOf(actorId: string, action?: string): Promise<AuditRow[]> {
  const rows = await env.DB.prepare(
    `SELECT chain, tenant_id, actor_type, actor_id, action, target_type, target_id, outcome, details
       FROM audit_events WHERE actor_id = ? AND (? IS NULL OR action = ?) AND seq > ? ORDER BY chain, seq`,
  )
    .bind(actorId, action ?? null, action ?? null, setupSeq.get(actorId) ?? 0)
    .all<Omit<AuditRow, 'details'> & { details: string }>()
  return rows.results.map((r) => ({ ...r, details: JSON.parse(r.details) }))
}

async function count(sql: string, ...params: unknown[]): Promise<number> {
  return (await env.DB.prepare(`SELECT count(*) AS n FROM (${sql})`).bind(...params).first<{ n: number }>())!.n
}

async function factorsOf(accountId: string) {
  const rows = await env.DB.prepare(
    'SELECT id, tenant_id, kind, status, secret, last_used_step, confirmed_at FROM mfa_factors WHERE account_id = ? ORDER BY kind, status',
  )
    .bind(accountId)
    .all<{ id: string; tenant_id: string | null; kind: string; status: string; secret: string | null; last_used_step: number; confirmed_at: string | null }>()
  return rows.results
}

async function recoveryRowsOf(accountId: string) {
  const rows = await env.DB.prepare('SELECT code_hash, used_at FROM recovery_codes WHERE account_id = ?')
    .bind(accountId)
    .all<{ code_hash: string; used_at: string | null }>()
  return rows.results
}

type ChallengeRow = {
  id: string
  tenant_id: string | null
  account_id: string
  token_hash: string
  code_mac: string | null
  methods: string
  purpose: string
  attempts: number
  expires_at: string
  consumed_at: string | null
  created_at: string
}

async function challengeRow(challenge: string) {
  return env.DB.prepare('SELECT * FROM mfa_challenges WHERE token_hash = ?').bind(await sha256Hex(challenge)).first<ChallengeRow>()
}

async function mailCount(to: string) {
  return count('SELECT id FROM mail_outbox WHERE to_address = ?', to)
}

function login(t: TestTenant, password = t.adminPassword) {
  return call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: t.adminEmail, password } })
}

function answer(challenge: string, code: string, path = '/api/v1/auth/mfa') {
  return call('POST', path, { body: { challenge, code } })
}

/** Password sign-in that must stop at the second step; returns the challenge token. */
async function challengeFor(t: TestTenant, methods: string[]): Promise<string> {
  const reply = await login(t)
  expect(reply.status).toBe(200)
  expect(reply.body).toEqual({ status: 'mfa_required', challenge: expect.stringMatching(CHALLENGE), methods })
  return reply.body.challenge
}

/** Any six digits other than `codes`. */
function otherCode(...codes: string[]) {
  for (let d = 0; ; d++) {
    const candidate = String(d).repeat(6)
    if (!codes.includes(candidate)) return candidate
  }
}

/**
 * The current time, at least 4 s before the next 30-second TOTP step, so a
 * code computed here is still in the same step when the Worker checks it.
 */
async function stepSafeNow() {
  const into = Date.now() % STEP_MS
  if (into > STEP_MS - 4_000) await new Promise((resolve) => setTimeout(resolve, STEP_MS - into + 250))
  return Date.now()
}

function parseTotp(uri: string): OTPAuth.TOTP {
  const parsed = OTPAuth.URI.parse(uri)
  expect(parsed).toBeInstanceOf(OTPAuth.TOTP)
  return parsed as OTPAuth.TOTP
}

/** Starts TOTP enrolment; `code` is a current second factor, needed once the admin has one. */
async function startTotp(t: TestTenant, code?: string) {
  const started = await call('POST', '/api/v1/me/mfa/totp', { token: t.adminToken, body: { current_password: t.adminPassword, ...(code ? { code } : {}) } })
  expect(started.status).toBe(200)
  return parseTotp(started.body.uri)
}

/** Has POST /api/v1/me/mfa/code mail the admin a code that confirms a factor change, and returns it. */
async function factorChangeCode(t: TestTenant): Promise<string> {
  const reply = await call('POST', '/api/v1/me/mfa/code', { token: t.adminToken })
  expect(reply.status).toBe(200)
  const code = (await lastMail(t.adminEmail))?.body.match(/^確認コード: (\d{6})$/m)?.[1]
  expect(code).toMatch(/^\d{6}$/)
  return code!
}

/**
 * Enrols TOTP for the tenant's admin. The confirmation uses the previous
 * step's code (accepted drift), so the current step is still unused and a
 * test can sign in with the current code right away.
 */
async function enrolTotp(t: TestTenant, code?: string) {
  const totp = await startTotp(t, code)
  const now = await stepSafeNow()
  const confirmed = await call('POST', '/api/v1/me/mfa/totp/confirm', {
    token: t.adminToken,
    body: { code: totp.generate({ timestamp: now - STEP_MS }) },
  })
  expect(confirmed.status).toBe(200)
  return { totp, recoveryCodes: confirmed.body.recovery_codes as string[] }
}

async function setPolicy(t: TestTenant, token: string, mfaRequired: { admin?: boolean; member?: boolean }) {
  const reply = await call('PUT', '/api/v1/policy', { token, body: { mfa_required: mfaRequired } })
  expect(reply.status).toBe(200)
  return reply.body
}

async function enableEmail(t: TestTenant) {
  const reply = await call('POST', '/api/v1/me/mfa/email', { token: t.adminToken, body: { current_password: t.adminPassword } })
  expect(reply.status).toBe(200)
  expect(reply.body).toEqual({ methods: ['email'] })
}

// Runs first on purpose: the operator's first sign-in in this file is the forced enrolment.
describe('operator second factor', () => {
  it('forces e-mail enrolment at the first operator sign-in and records it on the platform chain', async () => {
    const mailsBefore = await mailCount(OPERATOR.email)
    const token = await operator()
    expect(token).toMatch(/^mo1\./)
    const op = (await env.DB.prepare('SELECT id FROM operators WHERE email = ?').bind(OPERATOR.email).first<{ id: string }>())!

    const challenges = await env.DB.prepare('SELECT * FROM mfa_challenges WHERE account_id = ?').bind(op.id).all<ChallengeRow>()
    expect(challenges.results).toHaveLength(1)
    expect(challenges.results[0]).toMatchObject({ tenant_id: null, purpose: 'enroll', methods: '["email"]', attempts: 1, consumed_at: expect.any(String) })

    expect(await factorsOf(op.id)).toEqual([
      { id: expect.any(String), tenant_id: null, kind: 'email', status: 'active', secret: null, last_used_step: 0, confirmed_at: expect.any(String) },
    ])
    expect(await mailCount(OPERATOR.email)).toBe(mailsBefore + 1)
    expect((await lastMail(OPERATOR.email))!.subject).toMatch(/^【Mamori】サインイン確認コード: \d{6}$/)

    const events = await auditOf(op.id)
    expect(events.map((e) => `${e.action}:${e.outcome}`)).toEqual([
      'operator.bootstrap:success',
      'mfa.code_sent:success',
      'mfa.verified:success',
      'mfa.enrolled:success',
      'auth.login:success',
    ])
    for (const e of events) expect(e).toMatchObject({ chain: 'platform', tenant_id: null, actor_type: 'operator', actor_id: op.id })
    expect(events[1]!.details).toEqual({ challenge_id: challenges.results[0]!.id, methods: ['email'], enrolment: 'email' })
    expect(events[2]!.details).toEqual({ challenge_id: challenges.results[0]!.id, method: 'email' })
    expect(events[3]!.details).toEqual({ kind: 'email', via: 'sign-in' })
    expect(events[4]!.details).toMatchObject({ method: 'email', enrolled: 'email' })
  })

  it('always asks an operator for an e-mailed code, mails it to the operator and answers with an mo1. token', async () => {
    await operator()
    const before = await mailCount(OPERATOR.email)
    const login = await call('POST', '/ops/v1/auth/login', { body: { email: OPERATOR.email, password: OPERATOR.password } })
    expect(login.status).toBe(200)
    expect(login.body).toEqual({ status: 'mfa_required', challenge: expect.stringMatching(CHALLENGE), methods: ['email'] })
    expect(await mailCount(OPERATOR.email)).toBe(before + 1)
    const mail = await env.DB.prepare('SELECT tenant_id, to_address, subject FROM mail_outbox WHERE to_address = ? ORDER BY id DESC LIMIT 1')
      .bind(OPERATOR.email)
      .first<{ tenant_id: string | null; to_address: string; subject: string }>()
    const code = await lastCode(OPERATOR.email)
    expect(mail).toEqual({ tenant_id: null, to_address: OPERATOR.email, subject: `【Mamori】サインイン確認コード: ${code}` })
    expect((await challengeRow(login.body.challenge))!.purpose).toBe('login')

    const done = await answer(login.body.challenge, code, '/ops/v1/auth/mfa')
    expect(done.status).toBe(200)
    expect(done.body).toMatchObject({ status: 'ok', token: expect.stringMatching(/^mo1\./), operator: { email: OPERATOR.email } })
    expect((await call('GET', '/ops/v1/plans', { token: done.body.token })).status).toBe(200)
  })

  it('still asks an operator without any factor for an e-mailed code, and enrols it again', async () => {
    await operator()
    const op = (await env.DB.prepare('SELECT id FROM operators WHERE email = ?').bind(OPERATOR.email).first<{ id: string }>())!
    await env.DB.prepare('DELETE FROM mfa_factors WHERE account_id = ?').bind(op.id).run()
    const login = await call('POST', '/ops/v1/auth/login', { body: { email: OPERATOR.email, password: OPERATOR.password } })
    expect(login.body).toEqual({ status: 'mfa_required', challenge: expect.stringMatching(CHALLENGE), methods: ['email'] })
    expect((await challengeRow(login.body.challenge))!.purpose).toBe('enroll')
    const done = await answer(login.body.challenge, await lastCode(OPERATOR.email), '/ops/v1/auth/mfa')
    expect(done.status).toBe(200)
    expect((await factorsOf(op.id)).map((f) => `${f.kind}:${f.status}`)).toEqual(['email:active'])
    const enrolled = await auditOf(op.id, 'mfa.enrolled')
    expect(enrolled.at(-1)).toMatchObject({ chain: 'platform', tenant_id: null, details: { kind: 'email', via: 'sign-in' } })
  })

  it('refuses an operator challenge answered at the tenant route', async () => {
    await operator()
    const login = await call('POST', '/ops/v1/auth/login', { body: { email: OPERATOR.email, password: OPERATOR.password } })
    const code = await lastCode(OPERATOR.email)
    expectProblem(await answer(login.body.challenge, code), 401, 'mfa-failed')
    const done = await answer(login.body.challenge, code, '/ops/v1/auth/mfa')
    expect(done.status).toBe(200)
    expect(done.body.token).toMatch(/^mo1\./)
  })
})

describe('e-mailed one-time codes (SE-47)', () => {
  it('makes an admin sign in with an e-mailed code once the policy requires MFA, and enrols e-mail OTP by it', async () => {
    const t = await freshTenant()
    const policy = await setPolicy(t, t.adminToken, { admin: true })
    expect(policy.mfa_required).toEqual({ admin: true, member: false })

    const before = await mailCount(t.adminEmail)
    const challenge = await challengeFor(t, ['email'])
    expect(await mailCount(t.adminEmail)).toBe(before + 1)
    const code = await lastCode(t.adminEmail)
    expect(code).toMatch(/^\d{6}$/)
    expect((await challengeRow(challenge))!).toMatchObject({ account_id: t.adminId, tenant_id: t.id, purpose: 'enroll', methods: '["email"]' })
    expect(await factorsOf(t.adminId)).toEqual([])

    const done = await answer(challenge, code)
    expect(done.status).toBe(200)
    expect(done.headers.get('Cache-Control')).toBe('no-store')
    expect(done.body).toEqual({
      status: 'ok',
      token: expect.stringMatching(new RegExp(`^mt1\\.${t.id}\\.`)),
      expires_at: expect.any(String),
      user: expect.objectContaining({ id: t.adminId, email: t.adminEmail, role: 'admin' }),
    })
    expect(await factorsOf(t.adminId)).toEqual([
      { id: expect.any(String), tenant_id: t.id, kind: 'email', status: 'active', secret: null, last_used_step: 0, confirmed_at: expect.any(String) },
    ])
    const enrolled = await auditOf(t.adminId, 'mfa.enrolled')
    expect(enrolled).toEqual([
      {
        chain: t.id,
        tenant_id: t.id,
        actor_type: 'user',
        actor_id: t.adminId,
        action: 'mfa.enrolled',
        target_type: 'user',
        target_id: t.adminId,
        outcome: 'success',
        details: { kind: 'email', via: 'sign-in' },
      },
    ])
    expect((await auditOf(t.adminId, 'auth.login')).at(-1)!.details).toMatchObject({ method: 'email', enrolled: 'email' })

    // Without the policy, the enrolled factor alone still asks for the code.
    await setPolicy(t, done.body.token, { admin: false })
    const next = await challengeFor(t, ['email'])
    expect((await challengeRow(next))!.purpose).toBe('login')
    const again = await answer(next, await lastCode(t.adminEmail))
    expect(again.status).toBe(200)
    expect(again.body.status).toBe('ok')
    expect(await factorsOf(t.adminId)).toHaveLength(1)
    expect(await auditOf(t.adminId, 'mfa.enrolled')).toHaveLength(1)
  })

  it('stores only a MAC of the 6-digit code and only a hash of the challenge token', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    const challenge = await challengeFor(t, ['email'])
    const code = await lastCode(t.adminEmail)
    expect(code).toMatch(/^\d{6}$/)
    const row = (await challengeRow(challenge))!
    expect(row).toEqual({
      id: expect.any(String),
      tenant_id: t.id,
      account_id: t.adminId,
      token_hash: await sha256Hex(challenge),
      // Under the tenant's own data key, which the MAC names (DM-5).
      code_mac: expect.stringMatching(/^v2\.tk_[0-9a-z]{26}\.[A-Za-z0-9_-]{43}$/),
      methods: '["email"]',
      purpose: 'login',
      attempts: 0,
      expires_at: new Date(Date.parse(row.created_at) + 10 * 60_000).toISOString(),
      consumed_at: null,
      created_at: expect.any(String),
    })
    const stored = JSON.stringify(row)
    expect(row.code_mac).not.toContain(code)
    expect(stored).not.toContain(challenge.slice(4))
    expect(stored).not.toContain(`"${code}"`)
  })

  it('accepts a code once: replaying it after success is refused', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    const challenge = await challengeFor(t, ['email'])
    const code = await lastCode(t.adminEmail)
    expect((await answer(challenge, code)).status).toBe(200)
    const replay = expectProblem(await answer(challenge, code), 401, 'mfa-failed')
    expect(replay.detail).toBe('This sign-in attempt has expired or used up its tries. Sign in again.')
    expect((await challengeRow(challenge))!.consumed_at).toEqual(expect.any(String))
    expect(await auditOf(t.adminId, 'mfa.verified')).toHaveLength(1)
  })

  it('accepts a code only for the challenge it was mailed for', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    await challengeFor(t, ['email'])
    const first = await lastCode(t.adminEmail)
    const second = await challengeFor(t, ['email'])
    const secondCode = await lastCode(t.adminEmail)
    if (first !== secondCode) expectProblem(await answer(second, first), 401, 'mfa-failed')
    expect((await answer(second, secondCode)).status).toBe(200)
  })

  it('refuses a wrong code saying how many tries are left, and after 5 wrong tries even the right code', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    const challenge = await challengeFor(t, ['email'])
    const code = await lastCode(t.adminEmail)
    const wrong = otherCode(code)
    const details = []
    for (let i = 0; i < 5; i++) details.push(expectProblem(await answer(challenge, wrong), 401, 'mfa-failed').detail)
    expect(details).toEqual([
      'The code is wrong. 4 tries left.',
      'The code is wrong. 3 tries left.',
      'The code is wrong. 2 tries left.',
      'The code is wrong. 1 try left.',
      'The code is wrong and no tries are left. Sign in again.',
    ])
    const right = expectProblem(await answer(challenge, code), 401, 'mfa-failed')
    expect(right.detail).toBe('This sign-in attempt has expired or used up its tries. Sign in again.')
    const row = (await challengeRow(challenge))!
    expect({ attempts: row.attempts, consumed_at: row.consumed_at }).toEqual({ attempts: 5, consumed_at: null })

    const failures = await auditOf(t.adminId, 'mfa.code_failed')
    expect(failures.map((f) => ({ outcome: f.outcome, chain: f.chain, target_id: f.target_id, details: f.details }))).toEqual([
      ...[4, 3, 2, 1, 0].map((left) => ({ outcome: 'failure', chain: t.id, target_id: t.adminId, details: { challenge_id: row.id, tries_left: left } })),
      // The right code after the tries ran out is recorded too.
      { outcome: 'failure', chain: t.id, target_id: t.adminId, details: { challenge_id: row.id, reason: 'no_tries_left' } },
    ])
    expect(await auditOf(t.adminId, 'mfa.verified')).toEqual([])
  })

  // Regression: the loser's guarded consume must come back as 401 mfa-failed, not as a 500 from the
  // write_guards CHECK ("CHECK constraint failed: must_stay_empty").
  it('lets exactly one of two simultaneous right answers to a challenge sign in', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    const challenge = await challengeFor(t, ['email'])
    const code = await lastCode(t.adminEmail)
    const replies = await Promise.all([answer(challenge, code), answer(challenge, code)])
    expect(replies.map((r) => r.status).sort()).toEqual([200, 401])
    expectProblem(replies.find((r) => r.status === 401)!, 401, 'mfa-failed')
    expect(await auditOf(t.adminId, 'mfa.verified')).toHaveLength(1)
    expect((await auditOf(t.adminId, 'auth.login')).filter((e) => e.outcome === 'success' && e.details.method === 'email')).toHaveLength(1)
  })

  it('refuses a malformed answer with 422 and spends no try', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    const challenge = await challengeFor(t, ['email'])
    const code = await lastCode(t.adminEmail)
    for (const body of [{ challenge }, { challenge, code: '' }, { challenge, code: 123456 }, { challenge, code, extra: true }, { challenge, code: '1'.repeat(33) }]) {
      expectProblem(await call('POST', '/api/v1/auth/mfa', { body }), 422, 'validation')
    }
    expect((await challengeRow(challenge))!.attempts).toBe(0)
    expect(await auditOf(t.adminId, 'mfa.code_failed')).toEqual([])
    expect((await answer(challenge, code)).status).toBe(200)
  })

  it('refuses the right code once the challenge has expired', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    const challenge = await challengeFor(t, ['email'])
    const code = await lastCode(t.adminEmail)
    await env.DB.prepare('UPDATE mfa_challenges SET expires_at = ? WHERE token_hash = ?')
      .bind(new Date(Date.now() - 1_000).toISOString(), await sha256Hex(challenge))
      .run()
    const refused = expectProblem(await answer(challenge, code), 401, 'mfa-failed')
    expect(refused.detail).toBe('This sign-in attempt has expired or used up its tries. Sign in again.')
    expect((await challengeRow(challenge))!).toMatchObject({ attempts: 0, consumed_at: null })
    expect(await auditOf(t.adminId, 'mfa.verified')).toEqual([])
  })

  it('refuses a challenge token of the wrong shape or an unknown one', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    const challenge = await challengeFor(t, ['email'])
    const code = await lastCode(t.adminEmail)
    const tokens = [
      'not-a-challenge',
      'mc1.short',
      `mc2.${challenge.slice(4)}`,
      `${challenge}x`,
      `mc1.${'A'.repeat(43)}`,
      `mc1.${challenge.slice(4, -1)}${challenge.endsWith('A') ? 'B' : 'A'}`,
    ]
    for (const token of tokens) {
      const refused = expectProblem(await answer(token, code), 401, 'mfa-failed')
      expect(refused.detail).toBe('This sign-in attempt has expired or used up its tries. Sign in again.')
    }
    // None of them touched the real challenge, which still works.
    expect((await challengeRow(challenge))!.attempts).toBe(0)
    expect((await answer(challenge, code)).status).toBe(200)
  })

  it('refuses a tenant challenge answered at the operator route', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    const challenge = await challengeFor(t, ['email'])
    const code = await lastCode(t.adminEmail)
    expectProblem(await answer(challenge, code, '/ops/v1/auth/mfa'), 401, 'mfa-failed')
    expect(await auditOf(t.adminId, 'mfa.verified')).toEqual([])
    const done = await answer(challenge, code)
    expect(done.status).toBe(200)
    expect(done.body.token).toMatch(/^mt1\./)
  })

  it('never writes an e-mailed code, right or wrong, into the audit trail', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    const challenge = await challengeFor(t, ['email'])
    const code = await lastCode(t.adminEmail)
    const wrong = otherCode(code)
    expectProblem(await answer(challenge, wrong), 401, 'mfa-failed')
    expect((await answer(challenge, code)).status).toBe(200)
    expect((await auditOf(t.adminId)).map((e) => e.action)).toEqual(
      expect.arrayContaining(['mfa.code_sent', 'mfa.code_failed', 'mfa.verified', 'auth.login']),
    )
    for (const secret of [code, wrong, challenge.slice(4)]) {
      expect(await count('SELECT id FROM audit_events WHERE details LIKE ?', `%${secret}%`)).toBe(0)
    }
  })

  it('answers 404 at /dev/mailbox outside development (the outbox is the test mailbox)', async () => {
    expectProblem(await call('GET', '/dev/mailbox'), 404, 'not-found')
  })
})

describe('TOTP', () => {
  it('needs the current password to start TOTP enrolment, and stores nothing on a wrong one', async () => {
    const t = await freshTenant()
    const reply = await call('POST', '/api/v1/me/mfa/totp', { token: t.adminToken, body: { current_password: 'not my password at all' } })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors).toEqual([{ path: 'body.current_password', message: expect.any(String) }])
    expect(await factorsOf(t.adminId)).toEqual([])
    expect(await auditOf(t.adminId, 'mfa.totp_started')).toEqual([
      expect.objectContaining({ outcome: 'failure', details: { reason: 'wrong_current_password' } }),
    ])
  })

  it('returns an otpauth URI for issuer Mamori and the account e-mail, and stores the secret encrypted', async () => {
    const t = await freshTenant()
    const reply = await call('POST', '/api/v1/me/mfa/totp', { token: t.adminToken, body: { current_password: t.adminPassword } })
    expect(reply.status).toBe(200)
    expect(reply.headers.get('Cache-Control')).toBe('no-store')
    expect(reply.body).toEqual({ uri: expect.stringMatching(/^otpauth:\/\/totp\//) })
    const totp = parseTotp(reply.body.uri)
    expect({ issuer: totp.issuer, label: totp.label, algorithm: totp.algorithm, digits: totp.digits, period: totp.period }).toEqual({
      issuer: 'Mamori',
      label: t.adminEmail,
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    })
    const base32 = totp.secret.base32
    expect(base32).toMatch(/^[A-Z2-7]{32}$/)

    const factors = await factorsOf(t.adminId)
    expect(factors).toEqual([
      { id: expect.any(String), tenant_id: t.id, kind: 'totp', status: 'pending', secret: expect.stringMatching(/^v2\.tk_[0-9a-z]{26}\./), last_used_step: 0, confirmed_at: null },
    ])
    expect(factors[0]!.secret).not.toContain(base32)
    expect(factors[0]!.secret!.toUpperCase()).not.toContain(base32)
    // A pending enrolment is not a factor yet.
    expect((await call('GET', '/api/v1/me', { token: t.adminToken })).body.mfa).toEqual({ methods: [] })
    expect((await login(t)).body.status).toBe('ok')
    expect(await auditOf(t.adminId, 'mfa.totp_started')).toEqual([expect.objectContaining({ outcome: 'success', details: {} })])
  })

  it('refuses a wrong confirmation code with 422 and keeps the enrolment pending', async () => {
    const t = await freshTenant()
    const totp = await startTotp(t)
    const now = await stepSafeNow()
    const near = [-1, 0, 1].map((d) => totp.generate({ timestamp: now + d * STEP_MS }))
    const reply = await call('POST', '/api/v1/me/mfa/totp/confirm', { token: t.adminToken, body: { code: otherCode(...near) } })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors).toEqual([{ path: 'body.code', message: expect.any(String) }])
    expect((await factorsOf(t.adminId)).map((f) => `${f.kind}:${f.status}`)).toEqual(['totp:pending'])
    expect(await recoveryRowsOf(t.adminId)).toEqual([])
    expect(await auditOf(t.adminId, 'mfa.enrolled')).toEqual([])
  })

  it('confirms TOTP with a current code and returns 10 recovery codes stored only as hashes', async () => {
    const t = await freshTenant()
    const totp = await startTotp(t)
    const code = totp.generate({ timestamp: await stepSafeNow() })
    const reply = await call('POST', '/api/v1/me/mfa/totp/confirm', { token: t.adminToken, body: { code } })
    expect(reply.status).toBe(200)
    expect(reply.headers.get('Cache-Control')).toBe('no-store')
    const codes: string[] = reply.body.recovery_codes
    expect(Object.keys(reply.body)).toEqual(['recovery_codes'])
    expect(codes).toHaveLength(10)
    for (const c of codes) expect(c).toMatch(RECOVERY_CODE)
    expect(new Set(codes).size).toBe(10)

    const rows = await recoveryRowsOf(t.adminId)
    expect(rows).toHaveLength(10)
    expect(rows.map((r) => r.used_at)).toEqual(Array(10).fill(null))
    const hashes = rows.map((r) => r.code_hash).sort()
    expect(hashes).toEqual((await Promise.all(codes.map((c) => recoveryMac(t.id, c)))).sort())
    for (const c of codes) expect(hashes).not.toContain(c)

    const [factor] = await factorsOf(t.adminId)
    expect(factor).toMatchObject({ kind: 'totp', status: 'active', confirmed_at: expect.any(String) })
    expect(factor!.last_used_step).toBeGreaterThan(0)
    expect(await auditOf(t.adminId, 'mfa.enrolled')).toEqual([expect.objectContaining({ chain: t.id, outcome: 'success', details: { kind: 'totp' } })])
    for (const secret of [code, ...codes]) {
      expect(await count('SELECT id FROM audit_events WHERE details LIKE ?', `%${secret}%`)).toBe(0)
    }
  })

  it('answers 409 to a confirmation without a pending enrolment', async () => {
    const t = await freshTenant()
    const never = await call('POST', '/api/v1/me/mfa/totp/confirm', { token: t.adminToken, body: { code: '123456' } })
    expectProblem(never, 409, 'no-pending-enrolment')
    const { totp } = await enrolTotp(t)
    const twice = await call('POST', '/api/v1/me/mfa/totp/confirm', {
      token: t.adminToken,
      body: { code: totp.generate({ timestamp: await stepSafeNow() }) },
    })
    expectProblem(twice, 409, 'no-pending-enrolment')
    expect(await recoveryRowsOf(t.adminId)).toHaveLength(10)
  })

  it('offers totp and recovery_code at sign-in, and mails no code for them', async () => {
    const t = await freshTenant()
    await enrolTotp(t)
    const before = await mailCount(t.adminEmail)
    const challenge = await challengeFor(t, ['totp', 'recovery_code'])
    expect(await mailCount(t.adminEmail)).toBe(before)
    expect((await challengeRow(challenge))!).toMatchObject({ code_mac: null, purpose: 'login', methods: '["totp","recovery_code"]' })
    expect((await auditOf(t.adminId, 'mfa.challenge')).at(-1)!.details).toMatchObject({ methods: ['totp', 'recovery_code'] })
  })

  it('offers every method at sign-in to an account with both e-mail OTP and TOTP', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    await enrolTotp(t, await factorChangeCode(t))
    const reply = await login(t)
    expect(reply.body.status).toBe('mfa_required')
    expect([...reply.body.methods].sort()).toEqual(['email', 'recovery_code', 'totp'])
    expect((await call('GET', '/api/v1/me', { token: t.adminToken })).body.mfa.methods.sort()).toEqual(['email', 'totp'])
  })

  it('signs in with a current TOTP code and refuses the same code on a new challenge', async () => {
    const t = await freshTenant()
    const { totp } = await enrolTotp(t)
    const code = totp.generate({ timestamp: await stepSafeNow() })
    const done = await answer(await challengeFor(t, ['totp', 'recovery_code']), code)
    expect(done.status).toBe(200)
    expect(done.body).toMatchObject({ status: 'ok', token: expect.stringMatching(/^mt1\./), user: { id: t.adminId } })
    expect((await auditOf(t.adminId, 'auth.login')).at(-1)!.details).toMatchObject({ method: 'totp' })

    const replay = expectProblem(await answer(await challengeFor(t, ['totp', 'recovery_code']), code), 401, 'mfa-failed')
    expect(replay.detail).toBe('The code is wrong. 4 tries left.')
    expect(await count('SELECT id FROM audit_events WHERE details LIKE ?', `%${code}%`)).toBe(0)
  })

  it('refuses at sign-in the TOTP code that confirmed the enrolment', async () => {
    const t = await freshTenant()
    const totp = await startTotp(t)
    const code = totp.generate({ timestamp: await stepSafeNow() })
    expect((await call('POST', '/api/v1/me/mfa/totp/confirm', { token: t.adminToken, body: { code } })).status).toBe(200)
    expectProblem(await answer(await challengeFor(t, ['totp', 'recovery_code']), code), 401, 'mfa-failed')
  })

  it('lets exactly one of two simultaneous sign-ins with the same TOTP code through', async () => {
    const t = await freshTenant()
    const { totp } = await enrolTotp(t)
    const first = await challengeFor(t, ['totp', 'recovery_code'])
    const second = await challengeFor(t, ['totp', 'recovery_code'])
    const code = totp.generate({ timestamp: await stepSafeNow() })
    const replies = await Promise.all([answer(first, code), answer(second, code)])
    expect(replies.map((r) => r.status).sort()).toEqual([200, 401])
    expect((await auditOf(t.adminId, 'auth.login')).filter((e) => e.outcome === 'success' && e.details.method === 'totp')).toHaveLength(1)
  })

  it('accepts a code from the previous 30-second step once, and refuses one from two steps ago', async () => {
    const t = await freshTenant()
    const { totp } = await enrolTotp(t)
    // As if the authenticator was last used long ago: no step burned yet.
    await env.DB.prepare("UPDATE mfa_factors SET last_used_step = 0 WHERE account_id = ? AND kind = 'totp'").bind(t.adminId).run()
    const now = await stepSafeNow()
    const previous = totp.generate({ timestamp: now - STEP_MS })
    const twoAgo = totp.generate({ timestamp: now - 2 * STEP_MS })
    const current = totp.generate({ timestamp: now })

    if (twoAgo !== previous && twoAgo !== current) {
      expectProblem(await answer(await challengeFor(t, ['totp', 'recovery_code']), twoAgo), 401, 'mfa-failed')
    }
    const drift = await answer(await challengeFor(t, ['totp', 'recovery_code']), previous)
    expect(drift.status).toBe(200)
    expect(drift.body.status).toBe('ok')
    const [factor] = await factorsOf(t.adminId)
    expect(factor!.last_used_step).toBe(Math.floor(now / STEP_MS) - 1)
    expectProblem(await answer(await challengeFor(t, ['totp', 'recovery_code']), previous), 401, 'mfa-failed')
  })

  it('accepts each recovery code once', async () => {
    const t = await freshTenant()
    const { recoveryCodes } = await enrolTotp(t)
    const code = recoveryCodes[3]!
    const done = await answer(await challengeFor(t, ['totp', 'recovery_code']), code)
    expect(done.status).toBe(200)
    expect(done.body.status).toBe('ok')
    expect((await auditOf(t.adminId, 'auth.login')).at(-1)!.details).toMatchObject({ method: 'recovery_code' })
    const rows = await recoveryRowsOf(t.adminId)
    const used = await env.DB.prepare('SELECT used_at FROM recovery_codes WHERE code_hash = ?').bind(await recoveryMac(t.id, code)).first<{ used_at: string | null }>()
    expect(used!.used_at).toEqual(expect.any(String))
    expect(rows.filter((r) => r.used_at === null)).toHaveLength(9)

    expectProblem(await answer(await challengeFor(t, ['totp', 'recovery_code']), code), 401, 'mfa-failed')
    expect(await count('SELECT id FROM audit_events WHERE details LIKE ?', `%${code}%`)).toBe(0)
  })

  it('accepts a recovery code typed in capitals with surrounding spaces', async () => {
    const t = await freshTenant()
    const { recoveryCodes } = await enrolTotp(t)
    const done = await answer(await challengeFor(t, ['totp', 'recovery_code']), `  ${recoveryCodes[0]!.toUpperCase()} `)
    expect(done.status).toBe(200)
    expect(done.body.status).toBe('ok')
  })

  it('replaces the old TOTP factor and its recovery codes when TOTP is enrolled again', async () => {
    const t = await freshTenant()
    const first = await enrolTotp(t)
    const [oldFactor] = await factorsOf(t.adminId)
    const oldHashes = (await recoveryRowsOf(t.adminId)).map((r) => r.code_hash)

    // Replacing the authenticator needs a current factor: here a recovery code of the old one.
    const second = await enrolTotp(t, first.recoveryCodes[9])
    expect(second.totp.secret.base32).not.toBe(first.totp.secret.base32)
    const factors = await factorsOf(t.adminId)
    expect(factors).toEqual([expect.objectContaining({ kind: 'totp', status: 'active' })])
    expect(factors[0]!.id).not.toBe(oldFactor!.id)
    const hashes = (await recoveryRowsOf(t.adminId)).map((r) => r.code_hash)
    expect(hashes).toHaveLength(10)
    expect(hashes.filter((h) => oldHashes.includes(h))).toEqual([])
    expect((await auditOf(t.adminId, 'mfa.enrolled')).map((e) => e.details)).toEqual([{ kind: 'totp' }, { kind: 'totp' }])

    expectProblem(await answer(await challengeFor(t, ['totp', 'recovery_code']), first.recoveryCodes[0]!), 401, 'mfa-failed')
    const now = await stepSafeNow()
    const oldCode = first.totp.generate({ timestamp: now })
    const newCode = second.totp.generate({ timestamp: now })
    if (oldCode !== newCode) expectProblem(await answer(await challengeFor(t, ['totp', 'recovery_code']), oldCode), 401, 'mfa-failed')
    expect((await answer(await challengeFor(t, ['totp', 'recovery_code']), newCode)).status).toBe(200)
    expect((await answer(await challengeFor(t, ['totp', 'recovery_code']), second.recoveryCodes[0]!)).status).toBe(200)
  })
})

describe('managing my second factors', () => {
  it('lists the active second factors in GET /api/v1/me', async () => {
    const t = await freshTenant()
    const me = () => call('GET', '/api/v1/me', { token: t.adminToken })
    expect((await me()).body.mfa).toEqual({ methods: [] })
    await enableEmail(t)
    expect((await me()).body.mfa).toEqual({ methods: ['email'] })
    await enrolTotp(t, await factorChangeCode(t))
    const methods = (await me()).body.mfa.methods as string[]
    expect([...methods].sort()).toEqual(['email', 'totp'])
    expect(await auditOf(t.adminId, 'mfa.enrolled')).toEqual([
      expect.objectContaining({ outcome: 'success', details: { kind: 'email', via: 'settings' } }),
      expect.objectContaining({ outcome: 'success', details: { kind: 'totp' } }),
    ])
  })

  it('needs the current password to turn on e-mail codes', async () => {
    const t = await freshTenant()
    const reply = await call('POST', '/api/v1/me/mfa/email', { token: t.adminToken, body: { current_password: 'certainly not it' } })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors).toEqual([{ path: 'body.current_password', message: expect.any(String) }])
    expect(await factorsOf(t.adminId)).toEqual([])
    expect((await login(t)).body.status).toBe('ok')
  })

  it('needs the current password to remove the factors, and removes nothing on a wrong one', async () => {
    const t = await freshTenant()
    await enrolTotp(t)
    const reply = await call('DELETE', '/api/v1/me/mfa', { token: t.adminToken, body: { current_password: 'certainly not it' } })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors).toEqual([{ path: 'body.current_password', message: expect.any(String) }])
    expect(await factorsOf(t.adminId)).toHaveLength(1)
    expect(await recoveryRowsOf(t.adminId)).toHaveLength(10)
    expect(await auditOf(t.adminId, 'mfa.removed')).toEqual([
      expect.objectContaining({ outcome: 'failure', details: { reason: 'wrong_current_password' } }),
    ])
  })

  it('refuses to remove the factors with 409 mfa-required-by-policy when the policy requires MFA for the role', async () => {
    const t = await freshTenant()
    await enrolTotp(t)
    await setPolicy(t, t.adminToken, { admin: true })
    const reply = await call('DELETE', '/api/v1/me/mfa', { token: t.adminToken, body: { current_password: t.adminPassword } })
    expectProblem(reply, 409, 'mfa-required-by-policy')
    expect(await factorsOf(t.adminId)).toHaveLength(1)
    expect(await recoveryRowsOf(t.adminId)).toHaveLength(10)
    expect(await auditOf(t.adminId, 'mfa.removed')).toEqual([])
  })

  it('removes every factor and recovery code, after which sign-in is password-only again', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    const { recoveryCodes } = await enrolTotp(t, await factorChangeCode(t))
    await setPolicy(t, t.adminToken, { member: true })
    const reply = await call('DELETE', '/api/v1/me/mfa', { token: t.adminToken, body: { current_password: t.adminPassword, code: recoveryCodes[0] } })
    expect(reply.status).toBe(204)
    expect(await factorsOf(t.adminId)).toEqual([])
    expect(await recoveryRowsOf(t.adminId)).toEqual([])
    const removed = await auditOf(t.adminId, 'mfa.removed')
    expect(removed).toHaveLength(1)
    expect(removed[0]).toMatchObject({ chain: t.id, outcome: 'success', target_id: t.adminId })
    expect([...(removed[0]!.details.kinds as string[])].sort()).toEqual(['email', 'totp'])

    const before = await mailCount(t.adminEmail)
    const token = await signIn(t.slug, t.adminEmail, t.adminPassword)
    expect(token).toMatch(/^mt1\./)
    expect(await mailCount(t.adminEmail)).toBe(before)
    expect((await call('GET', '/api/v1/me', { token })).body.mfa).toEqual({ methods: [] })
  })
})

describe('pending challenges end with the password or the account', () => {
  /** An admin with e-mail codes, a second admin, and a sign-in of the first stopped at its second step. */
  async function pendingSignIn() {
    const t = await freshTenant()
    await enableEmail(t)
    const other = await userOf(t, 'admin')
    const challenge = await challengeFor(t, ['email'])
    return { t, other, challenge, code: await lastCode(t.adminEmail) }
  }

  async function expectEnded(challenge: string, code: string) {
    const refused = expectProblem(await answer(challenge, code), 401, 'mfa-failed')
    expect(refused.detail).toBe('This sign-in attempt has expired or used up its tries. Sign in again.')
    const row = (await challengeRow(challenge))!
    expect(row.consumed_at).toBeNull()
    expect(Date.parse(row.expires_at)).toBeLessThanOrEqual(Date.now())
  }

  it('ends a challenge started before the account’s own password change', async () => {
    const { t, challenge, code } = await pendingSignIn()
    const next = strongPassword()
    const changed = await call('POST', '/api/v1/auth/password', { token: t.adminToken, body: { current_password: t.adminPassword, new_password: next } })
    expect(changed.status).toBe(200)
    await expectEnded(challenge, code)
    // Only the pending ones ended: a sign-in with the new password still gets through.
    const fresh = await login(t, next)
    expect((await answer(fresh.body.challenge, await lastCode(t.adminEmail))).status).toBe(200)
  })

  it('ends a challenge started before a forced reset', async () => {
    const { t, other, challenge, code } = await pendingSignIn()
    expect((await call('POST', `/api/v1/users/${t.adminId}/reset-password`, { token: other.token })).status).toBe(200)
    await expectEnded(challenge, code)
  })

  it('ends a challenge started before the account was disabled', async () => {
    const { t, other, challenge, code } = await pendingSignIn()
    const disabled = await call('PATCH', `/api/v1/users/${t.adminId}`, { token: other.token, body: { status: 'disabled' } })
    expect(disabled.status).toBe(200)
    await expectEnded(challenge, code)
  })

  it('removes a challenge started before the account was deleted', async () => {
    const { t, other, challenge, code } = await pendingSignIn()
    expect((await call('DELETE', `/api/v1/users/${t.adminId}`, { token: other.token })).status).toBe(204)
    expectProblem(await answer(challenge, code), 401, 'mfa-failed')
    expect(await challengeRow(challenge)).toBeNull()
  })
})

describe('replacing or removing second factors needs a current one', () => {
  /** Has POST /api/v1/me/mfa/code mail a factor-change code; the newest mail's code. */
  const mailedCode = factorChangeCode

  it('refuses to start replacing TOTP without a current code (422 on body.code), or with a wrong one, and changes nothing', async () => {
    const t = await freshTenant()
    const { totp } = await enrolTotp(t)
    const factors = await factorsOf(t.adminId)
    const send = (body: Record<string, unknown>) => call('POST', '/api/v1/me/mfa/totp', { token: t.adminToken, body: { current_password: t.adminPassword, ...body } })

    const missing = expectProblem(await send({}), 422, 'validation')
    expect(missing.errors).toEqual([{ path: 'body.code', message: expect.stringContaining('POST /api/v1/me/mfa/code') }])
    const now = await stepSafeNow()
    const near = [-1, 0, 1].map((d) => totp.generate({ timestamp: now + d * STEP_MS }))
    const wrong = expectProblem(await send({ code: otherCode(...near) }), 422, 'validation')
    expect(wrong.errors).toEqual([{ path: 'body.code', message: 'This is not a current code of your second factor.' }])
    expect(await factorsOf(t.adminId)).toEqual(factors)
    expect((await auditOf(t.adminId, 'mfa.totp_started')).map((e) => [e.outcome, e.details])).toEqual([
      ['success', {}],
      ['failure', { reason: 'second_factor_missing' }],
      ['failure', { reason: 'wrong_second_factor' }],
    ])

    const started = await send({ code: totp.generate({ timestamp: now }) })
    expect(started.status).toBe(200)
    expect((await factorsOf(t.adminId)).map((f) => `${f.kind}:${f.status}`)).toEqual(['totp:active', 'totp:pending'])
    expect((await auditOf(t.adminId, 'mfa.totp_started')).at(-1)).toMatchObject({ outcome: 'success', details: { confirmed_with: 'totp' } })
  })

  it('refuses to remove factors without a current code, and takes a recovery code once', async () => {
    const t = await freshTenant()
    const { recoveryCodes } = await enrolTotp(t)
    const remove = (body: Record<string, unknown>) => call('DELETE', '/api/v1/me/mfa', { token: t.adminToken, body: { current_password: t.adminPassword, ...body } })
    const missing = expectProblem(await remove({}), 422, 'validation')
    expect(missing.errors).toEqual([{ path: 'body.code', message: expect.any(String) }])
    expect(await factorsOf(t.adminId)).toHaveLength(1)
    expect(await recoveryRowsOf(t.adminId)).toHaveLength(10)

    expect((await remove({ code: recoveryCodes[2] })).status).toBe(204)
    expect(await factorsOf(t.adminId)).toEqual([])
    expect((await auditOf(t.adminId, 'mfa.removed')).map((e) => [e.outcome, e.details])).toEqual([
      ['failure', { reason: 'second_factor_missing' }],
      ['success', { kinds: ['totp'], confirmed_with: 'recovery_code' }],
    ])
  })

  it('mails an e-mail-only account a code that confirms the change, and not a sign-in code', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    const remove = (body: Record<string, unknown>) => call('DELETE', '/api/v1/me/mfa', { token: t.adminToken, body: { current_password: t.adminPassword, ...body } })
    expectProblem(await remove({}), 422, 'validation')

    // A code mailed for a sign-in does not confirm a factor change.
    const signInChallenge = await challengeFor(t, ['email'])
    const signInCode = await lastCode(t.adminEmail)
    const requested = await call('POST', '/api/v1/me/mfa/code', { token: t.adminToken })
    expect(requested.status).toBe(200)
    expect(requested.body).toEqual({ expires_at: expect.any(String) })
    const mail = (await lastMail(t.adminEmail))!
    expect(mail.subject).toMatch(/^【Mamori】確認コード: \d{6}$/)
    const code = mail.body.match(/^確認コード: (\d{6})$/m)![1]!
    const row = await env.DB.prepare("SELECT purpose, methods, code_mac, consumed_at FROM mfa_challenges WHERE account_id = ? AND purpose = 'step_up'")
      .bind(t.adminId)
      .first<{ purpose: string; methods: string; code_mac: string; consumed_at: string | null }>()
    expect(row).toEqual({ purpose: 'step_up', methods: '["email"]', code_mac: expect.any(String), consumed_at: null })
    expect(row!.code_mac).not.toContain(code)
    if (signInCode !== code) expectProblem(await remove({ code: signInCode }), 422, 'validation')

    expect((await remove({ code })).status).toBe(204)
    expect(await factorsOf(t.adminId)).toEqual([])
    expect((await auditOf(t.adminId, 'mfa.removed')).at(-1)).toMatchObject({ outcome: 'success', details: { kinds: ['email'], confirmed_with: 'email' } })
    expect((await auditOf(t.adminId, 'mfa.code_sent')).at(-1)!.details).toMatchObject({ methods: ['email'], purpose: 'step_up' })
    // The sign-in challenge is untouched by all this.
    expect((await challengeRow(signInChallenge))!.consumed_at).toBeNull()
  })

  it('gives a mailed factor-change code five tries, and a new code ends the previous one', async () => {
    const t = await freshTenant()
    await enableEmail(t)
    const remove = (code: string) => call('DELETE', '/api/v1/me/mfa', { token: t.adminToken, body: { current_password: t.adminPassword, code } })
    const first = await mailedCode(t)
    const second = await mailedCode(t)
    if (first !== second) expectProblem(await remove(first), 422, 'validation')
    const code = await mailedCode(t)
    const wrong = otherCode(code)
    for (let i = 0; i < 5; i++) expectProblem(await remove(wrong), 422, 'validation')
    expectProblem(await remove(code), 422, 'validation')
    expect(await factorsOf(t.adminId)).toHaveLength(1)
    expect((await remove(await mailedCode(t))).status).toBe(204)
  })

  it('answers 409 no-email-factor to a code request from an account without e-mail codes, and mails nothing', async () => {
    const t = await freshTenant()
    await enrolTotp(t)
    const before = await mailCount(t.adminEmail)
    expectProblem(await call('POST', '/api/v1/me/mfa/code', { token: t.adminToken }), 409, 'no-email-factor')
    expect(await mailCount(t.adminEmail)).toBe(before)
  })

  it('still starts TOTP with the password alone while the account has no factor', async () => {
    const t = await freshTenant()
    expect((await call('POST', '/api/v1/me/mfa/totp', { token: t.adminToken, body: { current_password: t.adminPassword } })).status).toBe(200)
  })
})

describe('sweeping expired challenges', () => {
  async function runFiveMinuteJob() {
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ cron: '*/5 * * * *', scheduledTime: Date.now() }), env, ctx)
    await waitOnExecutionContext(ctx)
  }

  /** Inserts `n` challenges of a made-up account expiring at `expiresAt`. */
  async function insertChallenges(account: string, n: number, expiresAt: string) {
    await env.DB.prepare(
      `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
       INSERT INTO mfa_challenges (id, tenant_id, account_id, token_hash, code_mac, methods, purpose, attempts, expires_at, consumed_at, created_at)
       SELECT ? || '_' || i, NULL, ?, ? || '_' || i, NULL, '["email"]', 'login', 0, ?, NULL, ? FROM k`,
    )
      .bind(n, `mfa_${account}`, account, `hash_${account}`, expiresAt, expiresAt)
      .run()
  }

  async function countOf(account: string) {
    return count('SELECT id FROM mfa_challenges WHERE account_id = ?', account)
  }

  it('deletes expired challenges on the */5 trigger and keeps live ones', async () => {
    await insertChallenges('sweep-expired', 3, new Date(Date.now() - 60_000).toISOString())
    await insertChallenges('sweep-live', 2, new Date(Date.now() + 10 * 60_000).toISOString())
    await runFiveMinuteJob()
    expect(await countOf('sweep-expired')).toBe(0)
    expect(await countOf('sweep-live')).toBe(2)
  })

  it('deletes at most a bounded number per run, oldest first, and the rest on the next run', async () => {
    await insertChallenges('sweep-backlog', CHALLENGE_SWEEP_LIMIT + 7, '2020-01-01T00:00:00.000Z')
    await runFiveMinuteJob()
    expect(await countOf('sweep-backlog')).toBe(7)
    await runFiveMinuteJob()
    expect(await countOf('sweep-backlog')).toBe(0)
  })
})
