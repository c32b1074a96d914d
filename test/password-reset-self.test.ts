import { env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { REFUSAL_DETAIL } from '../src/services/abuse/limits'
import { call, expectProblem, strongPassword, tenantWithAdmin, uniqueSlug, userOf, type TestTenant, type TestUser } from './helpers'
import { accountThrottle, age, counters, events, freshIp, from, mailsTo, tenantLogin, throttled } from './throttle-helpers'

/**
 * Self-service password reset by a mailed code (SE-14, SE-30): the same
 * answer for every tenant and e-mail, a single-use code valid 10 minutes,
 * the tenant's password rules, and the account's locks lifted.
 */

const WRONG = 'certainly-not-the-password'

let t: TestTenant

beforeAll(async () => {
  t = await tenantWithAdmin()
})

const request = (tenant: string, email: string, ip: string) => call('POST', '/api/v1/auth/password-reset', { body: { tenant, email }, headers: from(ip) })

const confirm = (tenant: string, email: string, code: string, newPassword: string, ip: string) =>
  call('POST', '/api/v1/auth/password-reset/confirm', { body: { tenant, email, code, new_password: newPassword }, headers: from(ip) })

const RESET_SUBJECT = /^【Mamori】パスワード再設定コード: (\d{8})$/

/** The reset codes mailed to `to` so far; the work runs after the answer, so wait for `count` of them. */
async function resetCodes(to: string, count: number): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const codes = (await mailsTo(to)).map((m) => RESET_SUBJECT.exec(m.subject)?.[1]).filter((c): c is string => c !== undefined)
    if (codes.length >= count) return codes
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`fewer than ${count} reset codes mailed to ${to}`)
}

async function newCode(user: TestUser, ip: string, already = 0): Promise<string> {
  expect((await request(t.slug, user.email, ip)).status).toBe(202)
  return (await resetCodes(user.email, already + 1)).at(-1)!
}

describe('asking for a code', () => {
  it('answers 202 with the same body for a real account, an unknown e-mail and an unknown tenant, and mails only the real one', async () => {
    const user = await userOf(t)
    const ghost = `ghost-${crypto.randomUUID().slice(0, 8)}@${t.slug}.example`
    const replies = [await request(t.slug, user.email, freshIp()), await request(t.slug, ghost, freshIp()), await request(uniqueSlug('none'), user.email, freshIp())]
    expect(replies.map((r) => ({ status: r.status, type: r.headers.get('Content-Type'), body: r.body }))).toEqual(
      Array(3).fill({ status: 202, type: 'application/json', body: { status: 'accepted' } }),
    )
    const [code] = await resetCodes(user.email, 1)
    expect(code).toMatch(/^\d{8}$/)
    expect(await mailsTo(ghost)).toEqual([])
    const requested = (await events(t.id, 'auth.password_reset_requested')).filter((e) => e.target_id === user.id)
    expect(requested.map((e) => ({ actor: e.actor_id, details: e.details }))).toEqual([
      { actor: user.id, details: { challenge_id: expect.stringMatching(/^mfa_/), via: 'self_service' } },
    ])
  })

  it('mails at most 3 codes an hour per account key, known or not, and refuses alike', async () => {
    const user = await userOf(t)
    const ghost = `ghost-${crypto.randomUUID().slice(0, 8)}@${t.slug}.example`
    const answers = []
    for (const email of [user.email, ghost]) {
      const ip = freshIp()
      for (let i = 0; i < 3; i++) expect((await request(t.slug, email, ip)).status).toBe(202)
      answers.push(throttled(await request(t.slug, email, freshIp())))
    }
    expect(answers[1]).toEqual(answers[0])
    expect(answers[0]!.policy).toBe('"reset_mail";q=3;w=3600')
    expect(answers[0]!.body).toEqual({ type: 'too-many-requests', title: 'Too many requests', status: 429, detail: REFUSAL_DETAIL.reset_mail })
    expect(await resetCodes(user.email, 3)).toHaveLength(3)
  })
})

describe('choosing a new password with the code', () => {
  it('changes the password, ends every session and pending challenge, and uses the code up', async () => {
    const user = await userOf(t)
    const ip = freshIp()
    const code = await newCode(user, ip)
    const fresh = strongPassword()
    const done = await confirm(t.slug, user.email, code, fresh, ip)
    expect({ status: done.status, body: done.body }).toEqual({ status: 200, body: { status: 'ok', sessions_revoked: 1 } })
    expect((await call('GET', '/api/v1/me', { token: user.token })).status).toBe(401)
    expectProblem(await tenantLogin(t.slug, user.email, user.password, ip), 401, 'invalid-credentials')
    expect((await tenantLogin(t.slug, user.email, fresh, ip)).body.status).toBe('ok')
    // Once only.
    const again = expectProblem(await confirm(t.slug, user.email, code, strongPassword(), ip), 422, 'validation')
    expect(again.errors).toEqual([{ path: 'body.code', message: expect.any(String) }])
    const resets = (await events(t.id, 'auth.password_reset')).filter((e) => e.target_id === user.id)
    expect(resets.map((e) => ({ actor: e.actor_id, details: e.details }))).toEqual([
      { actor: user.id, details: { via: 'self_service', challenge_id: expect.stringMatching(/^mfa_/) } },
    ])
    expect((await mailsTo(user.email)).some((m) => m.subject === '【Mamori】パスワード変更のお知らせ')).toBe(true)
  })

  it('answers a wrong code the same for a real account, an unknown e-mail and an unknown tenant', async () => {
    const user = await userOf(t)
    await newCode(user, freshIp())
    const keys: Array<[string, string]> = [
      [t.slug, user.email],
      [t.slug, `ghost-${crypto.randomUUID().slice(0, 8)}@${t.slug}.example`],
      [uniqueSlug('none'), user.email],
    ]
    const answers = []
    for (const [slug, email] of keys) {
      const reply = await confirm(slug, email, '00000000', strongPassword(), freshIp())
      const { request_id: _id, ...body } = expectProblem(reply, 422, 'validation')
      answers.push(body)
    }
    expect(answers[1]).toEqual(answers[0])
    expect(answers[2]).toEqual(answers[0])
  })

  it('applies the tenant’s password rules, and keeps the code for a better password', async () => {
    const user = await userOf(t)
    const ip = freshIp()
    const code = await newCode(user, ip)
    const weak = expectProblem(await confirm(t.slug, user.email, code, 'password', ip), 422, 'validation')
    expect(weak.errors[0].path).toBe('body.new_password')
    const reused = expectProblem(await confirm(t.slug, user.email, code, user.password, ip), 422, 'validation')
    expect(reused.errors[0].path).toBe('body.new_password')
    expect((await confirm(t.slug, user.email, code, strongPassword(), ip)).status).toBe(200)
  })

  it('refuses an expired code and one superseded by a newer code', async () => {
    const user = await userOf(t)
    const ip = freshIp()
    const first = await newCode(user, ip)
    const second = await newCode(user, ip, 1)
    expectProblem(await confirm(t.slug, user.email, first, strongPassword(), ip), 422, 'validation')
    await env.DB.prepare("UPDATE mfa_challenges SET expires_at = '2000-01-01T00:00:00.000Z' WHERE account_id = ? AND purpose = 'password_reset'").bind(user.id).run()
    expectProblem(await confirm(t.slug, user.email, second, strongPassword(), ip), 422, 'validation')
  })

  it('lifts the lock of an account after 100 failed sign-ins', async () => {
    const user = await userOf(t)
    for (let n = 0; n < 10; n++) {
      const ip = freshIp()
      for (let i = 0; i < 10; i++) await tenantLogin(t.slug, user.email, WRONG, ip)
    }
    const ip = freshIp()
    throttled(await tenantLogin(t.slug, user.email, user.password, ip))
    const code = await newCode(user, ip)
    const fresh = strongPassword()
    expect((await confirm(t.slug, user.email, code, fresh, ip)).status).toBe(200)
    expect((await tenantLogin(t.slug, user.email, fresh, ip)).body.status).toBe('ok')
    const reset = (await events(t.id, 'auth.password_reset')).filter((e) => e.target_id === user.id)
    expect(reset[0]!.details).toEqual({ via: 'self_service', challenge_id: expect.any(String), unlocked: ['account', 'pair'] })
    expect((await counters(await accountThrottle(t.slug, user.email))).filter((c) => c.scope !== 'reset_mail')).toEqual([])
  })

  it('pauses an account key after 10 wrong codes in a row, and lets it try again once the wait is over', async () => {
    const user = await userOf(t)
    const code = await newCode(user, freshIp())
    for (let i = 0; i < 10; i++) {
      // Fresh codes keep the per-code tries from ending it first.
      if (i === 5) await newCode(user, freshIp(), 1)
      expectProblem(await confirm(t.slug, user.email, '00000000', strongPassword(), freshIp()), 422, 'validation')
    }
    const refused = throttled(await confirm(t.slug, user.email, code, strongPassword(), freshIp()))
    expect(refused).toMatchObject({ retryAfter: '60', policy: '"reset_code";q=10;w=86400', rateLimit: '"reset_code";r=0;t=60' })
    await age(await accountThrottle(t.slug, user.email), 61_000)
    // Both codes spent their five tries meanwhile; a third one works.
    const third = await newCode(user, freshIp(), 2)
    expect((await confirm(t.slug, user.email, third, strongPassword(), freshIp())).status).toBe(200)
  })

  it('refuses a network after 30 requests or wrong codes an hour', async () => {
    const ip = freshIp()
    for (let i = 0; i < 30; i++) {
      const reply = i % 2 ? await request(t.slug, `list-${i}@victims.example`, ip) : await confirm(t.slug, `list-${i}@victims.example`, '12345678', strongPassword(), ip)
      expect(reply.status).toBe(i % 2 ? 202 : 422)
    }
    expect(throttled(await request(t.slug, 'one-more@victims.example', ip)).policy).toBe('"reset_ip";q=30;w=3600')
  })
})
