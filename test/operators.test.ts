import { env, runInDurableObject } from 'cloudflare:test'
import * as OTPAuth from 'otpauth'
import { describe, expect, it } from 'vitest'
import { SYNC_INTERVAL_MS, sessionStoreFor } from '../src/durable/session-store'
import { call, expectProblem, lastCode, lastMail, operator, snapshotCounts, strongPassword, tenantWithAdmin } from './helpers'

/**
 * The provider's operators (SE-12/13/14/16): invited and disabled by other
 * operators, their own password change with the tenant password rules, a
 * 30-day password expiry, and TOTP as a second factor. Every change audited
 * on the platform chain.
 */

const DAY_MS = 86_400_000
const STEP_MS = 30_000

type Op = { id: string; email: string; password: string; token: string }

let count = 0

async function login(email: string, password: string) {
  return call('POST', '/ops/v1/auth/login', { body: { email, password } })
}

/** Password, then the newest mailed code; returns the second step's reply. */
async function signInWithMail(email: string, password: string) {
  const first = await login(email, password)
  expect({ status: first.status, login: first.body.status }).toEqual({ status: 200, login: 'mfa_required' })
  return call('POST', '/ops/v1/auth/mfa', { body: { challenge: first.body.challenge, code: await lastCode(email) } })
}

function invite(token: string, body: Record<string, unknown>) {
  return call('POST', '/ops/v1/operators', { token, body })
}

/** Invites an operator as the file's first operator and walks it through its first sign-in and password change. */
async function newOperator(): Promise<Op> {
  count += 1
  const email = `op${count}-${crypto.randomUUID().slice(0, 6)}@mamori.test`
  const invited = await invite(await operator(), { email, name: `Operator ${count}` })
  expect(invited.status).toBe(201)
  const first = await signInWithMail(email, invited.body.temporary_password)
  expect(first.body.status).toBe('password_change_required')
  const password = strongPassword()
  const changed = await call('POST', '/ops/v1/auth/password', {
    token: first.body.token,
    body: { current_password: invited.body.temporary_password, new_password: password },
  })
  expect(changed.status).toBe(200)
  return { id: invited.body.id, email, password, token: changed.body.token }
}

type PlatformEvent = { actor_id: string | null; action: string; category: string; target_id: string | null; outcome: string; details: any }

async function platformEvents(action: string, targetId: string): Promise<PlatformEvent[]> {
  const rows = await env.DB.prepare(
    "SELECT actor_id, action, category, target_id, outcome, details FROM audit_events WHERE chain = 'platform' AND action = ? AND target_id = ? ORDER BY seq",
  )
    .bind(action, targetId)
    .all<Omit<PlatformEvent, 'details'> & { details: string }>()
  return rows.results.map((r) => ({ ...r, details: JSON.parse(r.details) }))
}

async function operatorRow(id: string) {
  return env.DB.prepare('SELECT status, password_hash, password_changed_at, must_change_password, created_by FROM operators WHERE id = ?')
    .bind(id)
    .first<{ status: string; password_hash: string; password_changed_at: string; must_change_password: number; created_by: string | null }>()
}

async function works(token: string) {
  return (await call('GET', '/ops/v1/operators', { token })).status === 200
}

function changePassword(token: string, current: string, next: string) {
  return call('POST', '/ops/v1/auth/password', { token, body: { current_password: current, new_password: next } })
}

describe('inviting operators', () => {
  it('creates an active operator with a 20-character temporary password, shown once, and lists it', async () => {
    const ops = await operator()
    const reply = await invite(ops, { email: 'New.Person@Mamori.test', name: 'New Person' })
    expect(reply.status).toBe(201)
    expect(reply.headers.get('Cache-Control')).toBe('no-store')
    expect(reply.body).toEqual({
      id: expect.stringMatching(/^op_[0-9a-z]{26}$/),
      email: 'new.person@mamori.test',
      name: 'New Person',
      status: 'active',
      created_at: expect.any(String),
      last_login_at: null,
      language: null,
      temporary_password: expect.stringMatching(/^[A-Za-z2-9]{20}$/),
    })
    const first = (await operatorRow(reply.body.id))!
    expect(first).toMatchObject({ status: 'active', must_change_password: 1 })
    expect(first.created_by).toMatch(/^operator:op_/)
    const listed = await call('GET', '/ops/v1/operators?limit=200', { token: ops })
    expect(listed.status).toBe(200)
    expect(listed.body.items.map((o: { id: string }) => o.id)).toContain(reply.body.id)
    expect(listed.body.items.every((o: Record<string, unknown>) => !('temporary_password' in o) && !('password_hash' in o))).toBe(true)
  })

  it('audits operator.create and mails the new operator without the password', async () => {
    const reply = await invite(await operator(), { email: 'mailed@mamori.test', name: 'Mailed' })
    const [event] = await platformEvents('operator.create', reply.body.id)
    expect(event).toMatchObject({ action: 'operator.create', category: 'administration', outcome: 'success', details: { email: 'mailed@mamori.test', name: 'Mailed' } })
    expect(JSON.stringify(event)).not.toContain(reply.body.temporary_password)
    const mail = await lastMail('mailed@mamori.test')
    expect(mail!.subject).toBe('【Mamori】運用者アカウント作成のお知らせ')
    expect(mail!.body).not.toContain(reply.body.temporary_password)
  })

  it('lets the temporary password in only with a code mailed to the new operator, and then only to change it', async () => {
    const reply = await invite(await operator(), { email: 'first@mamori.test', name: 'First' })
    const first = await login('first@mamori.test', reply.body.temporary_password)
    expect(first.body).toEqual({ status: 'mfa_required', challenge: expect.any(String), methods: ['email'] })
    const done = await call('POST', '/ops/v1/auth/mfa', { body: { challenge: first.body.challenge, code: await lastCode('first@mamori.test') } })
    expect(done.body).toEqual({ status: 'password_change_required', token: expect.stringMatching(/^mo1\./), expires_at: expect.any(String) })
    const refused = expectProblem(await call('GET', '/ops/v1/operators', { token: done.body.token }), 403, 'password-change-required')
    expect(refused.detail).toContain('POST /ops/v1/auth/password')
    const [login_] = (await platformEvents('auth.login', reply.body.id)).filter((e) => e.outcome === 'success')
    expect(login_!.details).toMatchObject({ method: 'email', enrolled: 'email', password_change_required: 'temporary' })
  })

  it('refuses a second operator with the same e-mail, whatever its case, with 409 email-taken', async () => {
    const ops = await operator()
    expect((await invite(ops, { email: 'twice@mamori.test', name: 'Once' })).status).toBe(201)
    const before = await snapshotCounts()
    expectProblem(await invite(ops, { email: 'TWICE@mamori.test', name: 'Twice' }), 409, 'email-taken')
    expect(await snapshotCounts()).toEqual(before)
  })

  it('refuses bad input with 422 and changes nothing', async () => {
    const ops = await operator()
    const before = await snapshotCounts()
    expectProblem(await invite(ops, { email: 'not-an-email', name: 'X' }), 422, 'validation')
    expectProblem(await invite(ops, { email: 'x@mamori.test', name: 'X', role: 'root' }), 422, 'validation')
    expectProblem(await invite(ops, { email: 'x@mamori.test' }), 422, 'validation')
    expect(await snapshotCounts()).toEqual(before)
  })

  it('answers a tenant admin’s token 401 on every operator-administration route', async () => {
    const t = await tenantWithAdmin()
    expectProblem(await call('GET', '/ops/v1/operators', { token: t.adminToken }), 401, 'unauthenticated')
    expectProblem(await invite(t.adminToken, { email: 'evil@mamori.test', name: 'Evil' }), 401, 'unauthenticated')
    expectProblem(await call('PATCH', '/ops/v1/operators/op_00000000000000000000000000', { token: t.adminToken, body: { status: 'disabled' } }), 401, 'unauthenticated')
    expectProblem(await call('GET', '/ops/v1/operators'), 401, 'unauthenticated')
  })

  it('pages the list newest first without repeats or gaps', async () => {
    const ops = await operator()
    for (let i = 0; i < 3; i++) await invite(ops, { email: `page${i}@mamori.test`, name: `Page ${i}` })
    const all = (await call('GET', '/ops/v1/operators?limit=200', { token: ops })).body.items.map((o: { id: string }) => o.id)
    expect(all).toEqual([...all].sort().reverse())
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const reply: { body: { items: { id: string }[]; next_cursor: string | null } } = await call(
        'GET',
        `/ops/v1/operators?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: ops },
      )
      seen.push(...reply.body.items.map((o) => o.id))
      cursor = reply.body.next_cursor
    } while (cursor)
    expect(seen).toEqual(all)
  })
})

describe('an operator’s own password change (POST /ops/v1/auth/password)', () => {
  it('changes the password, ends every earlier session and answers with a new full session', async () => {
    const op = await newOperator()
    const other = (await signInWithMail(op.email, op.password)).body.token
    const next = strongPassword()
    const reply = await changePassword(op.token, op.password, next)
    expect(reply.status).toBe(200)
    expect(reply.headers.get('Cache-Control')).toBe('no-store')
    expect(reply.body).toEqual({
      status: 'ok',
      token: expect.stringMatching(/^mo1\./),
      expires_at: expect.any(String),
      operator: expect.objectContaining({ id: op.id, email: op.email, status: 'active' }),
    })
    expect(await works(op.token)).toBe(false)
    expect(await works(other)).toBe(false)
    expect(await works(reply.body.token)).toBe(true)
    expectProblem(await login(op.email, op.password), 401, 'invalid-credentials')
    expect((await signInWithMail(op.email, next)).body.status).toBe('ok')
  })

  it('audits auth.password_change on the platform chain and remembers the old hash, never the password', async () => {
    const op = await newOperator()
    const before = (await operatorRow(op.id))!.password_hash
    const next = strongPassword()
    expect((await changePassword(op.token, op.password, next)).status).toBe(200)
    const events = await platformEvents('auth.password_change', op.id)
    expect(events.at(-1)).toMatchObject({ actor_id: op.id, category: 'authentication', outcome: 'success' })
    const history = await env.DB.prepare('SELECT password_hash FROM password_history WHERE account_id = ? AND tenant_id IS NULL').bind(op.id).all<{ password_hash: string }>()
    expect(history.results.map((r) => r.password_hash)).toContain(before)
    const leaked = await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE details LIKE ?').bind(`%${next}%`).first<{ n: number }>()
    expect(leaked!.n).toBe(0)
  })

  it('refuses a wrong current password with 422 at body.current_password, audited, changing nothing', async () => {
    const op = await newOperator()
    const before = await operatorRow(op.id)
    const problem = expectProblem(await changePassword(op.token, 'not my password at all', strongPassword()), 422, 'validation')
    expect(problem.errors).toEqual([{ path: 'body.current_password', message: 'This is not your current password.' }])
    expect(await operatorRow(op.id)).toEqual(before)
    expect(await works(op.token)).toBe(true)
    expect((await platformEvents('auth.password_change', op.id)).at(-1)).toMatchObject({ outcome: 'failure', details: { reason: 'wrong_current_password' } })
  })

  it.each([
    ['too short', 'Ab3-xyz', 'Use at least 8 characters.'],
    ['a common password', 'password123', null],
    ['built from the e-mail', 'EMAIL-river-lantern-2026', 'Do not use your e-mail address, or the name in it, in your password.'],
  ])('refuses a new password that is %s with 422 at body.new_password, changing nothing', async (_label, candidate, message) => {
    const op = await newOperator()
    const before = await operatorRow(op.id)
    const local = op.email.split('@')[0]!
    const problem = expectProblem(await changePassword(op.token, op.password, candidate.replace('EMAIL', local)), 422, 'validation')
    expect(problem.errors[0].path).toBe('body.new_password')
    if (message) expect(problem.errors[0].message).toBe(message)
    expect(await operatorRow(op.id)).toEqual(before)
  })

  it('refuses the current password and the ones before it (the last 5) as the new one', async () => {
    const op = await newOperator()
    expect(expectProblem(await changePassword(op.token, op.password, op.password), 422, 'validation').errors[0].path).toBe('body.new_password')
    const next = strongPassword()
    const changed = await changePassword(op.token, op.password, next)
    expectProblem(await changePassword(changed.body.token, next, op.password), 422, 'validation')
  })
})

describe('an operator’s password change ends pending sign-ins', () => {
  it('refuses, after the change, a challenge that was started with the old password', async () => {
    const op = await newOperator()
    const pending = await login(op.email, op.password)
    expect(pending.body.status).toBe('mfa_required')
    const code = await lastCode(op.email)
    expect((await changePassword(op.token, op.password, strongPassword())).status).toBe(200)
    const late = await call('POST', '/ops/v1/auth/mfa', { body: { challenge: pending.body.challenge, code } })
    expect(late.status).toBe(401)
  })
})

describe('operator password expiry (30 days)', () => {
  async function ageTo(id: string, days: number) {
    await env.DB.prepare('UPDATE operators SET password_changed_at = ? WHERE id = ?').bind(new Date(Date.now() - days * DAY_MS).toISOString(), id).run()
  }

  it('gives an operator whose password is 31 days old a password-change-only session, audited as auth.password_expired', async () => {
    const op = await newOperator()
    await ageTo(op.id, 31)
    const done = await signInWithMail(op.email, op.password)
    expect(done.body).toEqual({ status: 'password_change_required', token: expect.any(String), expires_at: expect.any(String) })
    expectProblem(await call('GET', '/ops/v1/operators', { token: done.body.token }), 403, 'password-change-required')
    expect((await platformEvents('auth.password_expired', op.id)).at(-1)).toMatchObject({ outcome: 'denied', details: { max_age_days: 30 } })
    const next = strongPassword()
    const changed = await changePassword(done.body.token, op.password, next)
    expect(changed.status).toBe(200)
    expect(await works(changed.body.token)).toBe(true)
    expect(await works(done.body.token)).toBe(false)
  })

  it('does not expire it at 29 days', async () => {
    const op = await newOperator()
    await ageTo(op.id, 29)
    expect((await signInWithMail(op.email, op.password)).body.status).toBe('ok')
  })
})

describe('TOTP for operators', () => {
  /** A step-up code mailed to the operator (every operator has e-mail as a factor). */
  async function stepUpCode(op: Op) {
    const mailed = await call('POST', '/ops/v1/me/mfa/code', { token: op.token })
    expect(mailed.status).toBe(200)
    const code = (await lastMail(op.email))?.body.match(/^確認コード: (\d{6})$/m)?.[1]
    expect(code, 'a confirmation code was mailed').toBeDefined()
    return code!
  }

  async function enrol(op: Op, code?: string) {
    const proof = code ?? (await stepUpCode(op))
    const started = await call('POST', '/ops/v1/me/mfa/totp', { token: op.token, body: { current_password: op.password, code: proof } })
    expect(started.status).toBe(200)
    expect(started.headers.get('Cache-Control')).toBe('no-store')
    const totp = OTPAuth.URI.parse(started.body.uri) as OTPAuth.TOTP
    expect(totp.label).toBe(op.email)
    const into = Date.now() % STEP_MS
    if (into > STEP_MS - 4_000) await new Promise((resolve) => setTimeout(resolve, STEP_MS - into + 250))
    const confirmed = await call('POST', '/ops/v1/me/mfa/totp/confirm', { token: op.token, body: { code: totp.generate({ timestamp: Date.now() - STEP_MS }) } })
    expect(confirmed.status).toBe(200)
    return { totp, recoveryCodes: confirmed.body.recovery_codes as string[] }
  }

  it('enrols TOTP with the current password and a first code, then accepts a TOTP code at sign-in', async () => {
    const op = await newOperator()
    const { totp, recoveryCodes } = await enrol(op)
    expect(recoveryCodes).toHaveLength(10)
    const first = await login(op.email, op.password)
    expect(first.body.methods).toEqual(expect.arrayContaining(['email', 'totp', 'recovery_code']))
    const done = await call('POST', '/ops/v1/auth/mfa', { body: { challenge: first.body.challenge, code: totp.generate() } })
    expect(done.body.status).toBe('ok')
    expect((await platformEvents('mfa.verified', op.id)).at(-1)!.details.method).toBe('totp')
    expect((await platformEvents('mfa.enrolled', op.id)).at(-1)).toMatchObject({ outcome: 'success', details: { kind: 'totp' } })
  })

  it('accepts a recovery code once at sign-in', async () => {
    const op = await newOperator()
    const { recoveryCodes } = await enrol(op)
    const first = await login(op.email, op.password)
    expect((await call('POST', '/ops/v1/auth/mfa', { body: { challenge: first.body.challenge, code: recoveryCodes[0] } })).body.status).toBe('ok')
    const again = await login(op.email, op.password)
    expectProblem(await call('POST', '/ops/v1/auth/mfa', { body: { challenge: again.body.challenge, code: recoveryCodes[0] } }), 401, 'mfa-failed')
  })

  it('refuses to start enrolment without the current password (422) and stores no factor', async () => {
    const op = await newOperator()
    const problem = expectProblem(await call('POST', '/ops/v1/me/mfa/totp', { token: op.token, body: { current_password: 'wrong password here' } }), 422, 'validation')
    expect(problem.errors[0].path).toBe('body.current_password')
    const factors = await env.DB.prepare("SELECT count(*) AS n FROM mfa_factors WHERE account_id = ? AND kind = 'totp'").bind(op.id).first<{ n: number }>()
    expect(factors!.n).toBe(0)
  })

  it('refuses a wrong first code with 422 and a confirmation without enrolment with 409', async () => {
    const op = await newOperator()
    expectProblem(await call('POST', '/ops/v1/me/mfa/totp/confirm', { token: op.token, body: { code: '123456' } }), 409, 'no-pending-enrolment')
    await call('POST', '/ops/v1/me/mfa/totp', { token: op.token, body: { current_password: op.password, code: await stepUpCode(op) } })
    expectProblem(await call('POST', '/ops/v1/me/mfa/totp/confirm', { token: op.token, body: { code: '000000' } }), 422, 'validation')
  })

  it('refuses to replace the authenticator with only the password: 422 on body.code, audited, the old one keeps working', async () => {
    const op = await newOperator()
    const { totp } = await enrol(op)
    const problem = expectProblem(await call('POST', '/ops/v1/me/mfa/totp', { token: op.token, body: { current_password: op.password } }), 422, 'validation')
    expect(problem.errors[0].path).toBe('body.code')
    expectProblem(
      await call('POST', '/ops/v1/me/mfa/totp', { token: op.token, body: { current_password: op.password, code: '000000' } }),
      422,
      'validation',
    )
    expect((await platformEvents('mfa.totp_started', op.id)).slice(-2).map((e) => [e.outcome, e.details.reason])).toEqual([
      ['failure', 'second_factor_missing'],
      ['failure', 'wrong_second_factor'],
    ])
    const first = await login(op.email, op.password)
    expect((await call('POST', '/ops/v1/auth/mfa', { body: { challenge: first.body.challenge, code: totp.generate() } })).body.status).toBe('ok')
  })

  it('replaces the authenticator when the current one confirms it', async () => {
    const op = await newOperator()
    const { totp: old } = await enrol(op)
    const { totp: replacement } = await enrol(op, old.generate())
    const first = await login(op.email, op.password)
    expectProblem(await call('POST', '/ops/v1/auth/mfa', { body: { challenge: first.body.challenge, code: old.generate() } }), 401, 'mfa-failed')
    const again = await login(op.email, op.password)
    expect((await call('POST', '/ops/v1/auth/mfa', { body: { challenge: again.body.challenge, code: replacement.generate() } })).body.status).toBe('ok')
  })
})

describe('disabling an operator', () => {
  function patch(token: string, id: string, body: unknown) {
    return call('PATCH', `/ops/v1/operators/${id}`, { token, body })
  }

  it('disables another operator: 200, their sessions end at once, audited operator.update', async () => {
    const ops = await operator()
    const target = await newOperator()
    const reply = await patch(ops, target.id, { status: 'disabled' })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ id: target.id, status: 'disabled' })
    expectProblem(await call('GET', '/ops/v1/operators', { token: target.token }), 401, 'unauthenticated')
    expect((await operatorRow(target.id))!.status).toBe('disabled')
    const [event] = await platformEvents('operator.update', target.id)
    expect(event).toMatchObject({ category: 'administration', outcome: 'success', details: { changes: { status: { from: 'active', to: 'disabled' } } } })
  })

  it('refuses a disabled operator’s sign-in with 403 account-disabled once the password is proven, 401 otherwise', async () => {
    const ops = await operator()
    const target = await newOperator()
    await patch(ops, target.id, { status: 'disabled' })
    expectProblem(await login(target.email, target.password), 403, 'account-disabled')
    expect((await platformEvents('auth.login', target.id)).at(-1)).toMatchObject({ outcome: 'denied', details: { reason: 'account_disabled' } })
    expectProblem(await login(target.email, 'not the password at all'), 401, 'invalid-credentials')
  })

  it('lets a re-enabled operator sign in again', async () => {
    const ops = await operator()
    const target = await newOperator()
    await patch(ops, target.id, { status: 'disabled' })
    const back = await patch(ops, target.id, { status: 'active' })
    expect(back.body.status).toBe('active')
    expect((await signInWithMail(target.email, target.password)).body.status).toBe('ok')
  })

  it('refuses to disable oneself with 409 cannot-disable-self, changing nothing', async () => {
    const op = await newOperator()
    expectProblem(await patch(op.token, op.id, { status: 'disabled' }), 409, 'cannot-disable-self')
    expect((await operatorRow(op.id))!.status).toBe('active')
    expect(await works(op.token)).toBe(true)
  })

  it('answers 404 for an unknown or malformed id, 422 for a bad body', async () => {
    const ops = await operator()
    expectProblem(await patch(ops, 'op_00000000000000000000000000', { status: 'disabled' }), 404, 'not-found')
    expectProblem(await patch(ops, 'nope', { status: 'disabled' }), 404, 'not-found')
    const target = await newOperator()
    expectProblem(await patch(ops, target.id, { status: 'gone' }), 422, 'validation')
    expectProblem(await patch(ops, target.id, { status: 'disabled', name: 'x' }), 422, 'validation')
    expectProblem(await patch(ops, target.id, {}), 422, 'validation')
    expect((await operatorRow(target.id))!.status).toBe('active')
  })

  it('ends the sessions a failed push left behind when the disable is repeated', async () => {
    const ops = await operator()
    const target = await newOperator()
    // The disable committed, its push to the session store did not happen.
    await env.DB.prepare("UPDATE operators SET status = 'disabled' WHERE id = ?").bind(target.id).run()
    expect(await works(target.token)).toBe(true)
    expect((await patch(ops, target.id, { status: 'disabled' })).status).toBe(200)
    expect(await works(target.token)).toBe(false)
  })

  it('ends them by itself within a minute too', async () => {
    const target = await newOperator()
    await env.DB.prepare("UPDATE operators SET status = 'disabled' WHERE id = ?").bind(target.id).run()
    await runInDurableObject(sessionStoreFor(env, { kind: 'operators', shard: 0 }), (_instance, state) => {
      state.storage.sql.exec('UPDATE sessions SET synced_at = synced_at - ? WHERE actor_id = ?', SYNC_INTERVAL_MS + 1000, target.id)
    })
    expect(await works(target.token)).toBe(false)
  })

  it('never disables the last active operator, even when the last two disable each other at once', async () => {
    const a = await newOperator()
    const b = await newOperator()
    const others = await env.DB.prepare("SELECT id FROM operators WHERE status = 'active' AND id NOT IN (?, ?)").bind(a.id, b.id).all<{ id: string }>()
    const ids = others.results.map((r) => r.id)
    await env.DB.prepare(`UPDATE operators SET status = 'disabled' WHERE id IN (${ids.map(() => '?').join(',')})`).bind(...ids).run()
    try {
      const replies = await Promise.all([patch(a.token, b.id, { status: 'disabled' }), patch(b.token, a.id, { status: 'disabled' })])
      expect(replies.filter((r) => r.status === 200)).toHaveLength(1)
      for (const reply of replies.filter((r) => r.status !== 200)) {
        expect([401, 409]).toContain(reply.status)
        if (reply.status === 409) expectProblem(reply, 409, 'last-operator')
      }
      const active = await env.DB.prepare("SELECT count(*) AS n FROM operators WHERE status = 'active' AND id IN (?, ?)").bind(a.id, b.id).first<{ n: number }>()
      expect(active!.n).toBe(1)
    } finally {
      await env.DB.prepare(`UPDATE operators SET status = 'active' WHERE id IN (${ids.map(() => '?').join(',')})`).bind(...ids).run()
    }
  })

  it('refuses a change by an operator disabled after their request was authenticated, changing nothing', async () => {
    const caller = await newOperator()
    const target = await newOperator()
    // Disabled in D1 while the caller's session still stands (its push not yet landed).
    await env.DB.prepare("UPDATE operators SET status = 'disabled' WHERE id = ?").bind(caller.id).run()
    try {
      expectProblem(await patch(caller.token, target.id, { status: 'disabled' }), 401, 'unauthenticated')
      expect((await operatorRow(target.id))!.status).toBe('active')
      expect(await platformEvents('operator.update', target.id)).toEqual([])
    } finally {
      await env.DB.prepare("UPDATE operators SET status = 'active' WHERE id = ?").bind(caller.id).run()
    }
  })

  it('leaves the bootstrapped operator signed in throughout', async () => {
    expect(await works(await operator())).toBe(true)
  })
})
