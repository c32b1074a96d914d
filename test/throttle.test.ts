import { beforeAll, describe, expect, it } from 'vitest'
import { toBase64Url } from '../src/lib/encoding'
import { REFUSAL_DETAIL } from '../src/services/abuse/limits'
import {
  BOOTSTRAP_TOKEN,
  OPERATOR,
  call,
  expectProblem,
  lastCode,
  operator,
  strongPassword,
  tenantWithAdmin,
  uniqueSlug,
  userOf,
  type TestTenant,
  type TestUser,
} from './helpers'
import {
  accountThrottle,
  age,
  chainLength,
  counters,
  events,
  freshIp,
  from,
  mailsTo,
  networkThrottle,
  operatorThrottle,
  tenantLogin,
  throttled,
} from './throttle-helpers'

/**
 * Sign-in and second-factor defence (SE-30, SE-31, SE-32): exact counters in
 * Throttle Durable Objects, per account from one network (pair), per account
 * from anywhere, per network across accounts; second-factor codes across
 * challenges and the mail cap; the other unauthenticated paths that cost a
 * write. Every threshold is the production one; time moves by editing the
 * objects' stored timestamps.
 */

const WRONG = 'certainly-not-the-password'
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

let t: TestTenant

beforeAll(async () => {
  t = await tenantWithAdmin()
})

function problemBody(scope: keyof typeof REFUSAL_DETAIL) {
  return { type: 'too-many-requests', title: 'Too many requests', status: 429, detail: REFUSAL_DETAIL[scope] }
}

async function failTimes(times: number, slug: string, email: string, ip: string) {
  const statuses: number[] = []
  for (let i = 0; i < times; i++) statuses.push((await tenantLogin(slug, email, WRONG, ip)).status)
  return statuses
}

const tenantEvents = async (action: string, scope?: string) =>
  (await events(t.id, action)).filter((e) => scope === undefined || e.details.scope === scope)

describe('one account from one network (pair)', () => {
  it('answers the 10th failure with 401 and refuses the 11th attempt with 429, even with the right password', async () => {
    const user = await userOf(t)
    const ip = freshIp()
    for (let i = 1; i <= 10; i++) expectProblem(await tenantLogin(t.slug, user.email, WRONG, ip), 401, 'invalid-credentials')
    const refused = throttled(await tenantLogin(t.slug, user.email, user.password, ip))
    expect(refused).toEqual({ retryAfter: '60', policy: '"pair";q=10;w=86400', rateLimit: '"pair";r=0;t=60', body: problemBody('pair') })
  })

  it('gives 30 racing wrong guesses exactly 10 password verifies, and 15 racing right ones all a session', async () => {
    const user = await userOf(t)
    const ip = freshIp()
    const guesses = await Promise.all(Array.from({ length: 30 }, () => tenantLogin(t.slug, user.email, WRONG, ip)))
    expect(guesses.map((r) => r.status).sort()).toEqual([...Array(10).fill(401), ...Array(20).fill(429)])
    expect((await events(t.id, 'auth.login')).filter((e) => e.target_id === user.id && e.outcome === 'failure')).toHaveLength(10)
    const home = freshIp()
    const rights = await Promise.all(Array.from({ length: 15 }, () => tenantLogin(t.slug, user.email, user.password, home)))
    expect(rights.map((r) => r.body.status)).toEqual(Array(15).fill('ok'))
  })

  it('records the block once, with its count, mails the owner once, and appends nothing per refused attempt', async () => {
    const user = await userOf(t)
    const ip = freshIp()
    await failTimes(10, t.slug, user.email, ip)
    const length = await chainLength(t.id)
    for (let i = 0; i < 5; i++) throttled(await tenantLogin(t.slug, user.email, i % 2 ? WRONG : user.password, ip))
    expect(await chainLength(t.id)).toBe(length)
    const failures = (await events(t.id, 'auth.login')).filter((e) => e.target_id === user.id && e.outcome === 'failure')
    expect(failures).toHaveLength(10)
    const blocks = (await tenantEvents('security.throttled', 'pair')).filter((e) => e.target_id === user.id)
    expect(blocks.map((e) => ({ outcome: e.outcome, details: e.details }))).toEqual([
      { outcome: 'denied', details: { scope: 'pair', count: 10, window: 60, owner_notified: true, email: user.email, network: ip } },
    ])
    const notices = (await mailsTo(user.email)).filter((m) => m.subject === '【Mamori】サインインの失敗が続いています')
    expect(notices).toHaveLength(1)
    expect(notices[0]!.body).toContain(`${ip} から`)
  })

  it('raises one brute-force alert to the tenant’s admins and the webhook for a blocked pair, once an hour (SE-28)', async () => {
    const user = await userOf(t)
    await failTimes(10, t.slug, user.email, freshIp())
    const alerts = () => events(t.id, 'security.alert').then((all) => all.filter((e) => e.target_id === user.id))
    expect((await alerts()).map((e) => ({ kind: e.details.kind, scope: e.details.scope, count: e.details.count }))).toEqual([
      { kind: 'brute_force', scope: 'pair', count: 10 },
    ])
    // A second block from another network within the hour raises no second mail storm.
    await failTimes(10, t.slug, user.email, freshIp())
    expect(await alerts()).toHaveLength(1)
    const adminMails = (await mailsTo(t.adminEmail)).filter((m) => /セキュリティアラート/.test(m.subject))
    expect(adminMails.length).toBeGreaterThanOrEqual(1)
    expect(adminMails.at(-1)!.body).not.toContain(user.password)
  })

  it('lets the real user sign in from another network while a pair is blocked', async () => {
    const user = await userOf(t)
    const attacker = freshIp()
    await failTimes(10, t.slug, user.email, attacker)
    throttled(await tenantLogin(t.slug, user.email, user.password, attacker))
    const home = await tenantLogin(t.slug, user.email, user.password, freshIp())
    expect({ status: home.status, result: home.body.status }).toEqual({ status: 200, result: 'ok' })
    // Her success ends the account's run, not the attacker's block.
    throttled(await tenantLogin(t.slug, user.email, user.password, attacker))
  })

  it('throttles an unknown e-mail and an unknown tenant exactly as a real account', async () => {
    const user = await userOf(t)
    const keys: Array<[string, string]> = [
      [t.slug, user.email],
      [t.slug, `nobody-${crypto.randomUUID().slice(0, 8)}@${t.slug}.example`],
      [uniqueSlug('none'), `someone-${crypto.randomUUID().slice(0, 8)}@nowhere.example`],
    ]
    const answers = []
    for (const [slug, email] of keys) {
      const ip = freshIp()
      const failures = []
      for (let i = 0; i < 10; i++) {
        const reply = await tenantLogin(slug, email, WRONG, ip)
        const { request_id: _id, ...body } = reply.body
        failures.push({ status: reply.status, body })
      }
      expect(new Set(failures.map((f) => JSON.stringify(f))).size).toBe(1)
      answers.push({ failures: failures[0], refused: throttled(await tenantLogin(slug, email, WRONG, ip)) })
    }
    expect(answers[1]).toEqual(answers[0])
    expect(answers[2]).toEqual(answers[0])
    // No owner to tell when there is no account; the unknown tenant's block is on the platform trail.
    const platformBlocks = (await events('platform', 'security.throttled')).filter((e) => e.details.scope === 'pair' && e.details.network !== undefined)
    expect(platformBlocks.at(-1)!.details).toEqual({ scope: 'pair', count: 10, window: 60, tenant_hmac: expect.any(String), email_hmac: expect.any(String), network: expect.any(String) })
  })

  it('refuses for a wait that doubles with each further block, and ends the run with the right password once it is over', async () => {
    const user = await userOf(t)
    const ip = freshIp()
    await failTimes(10, t.slug, user.email, ip)
    throttled(await tenantLogin(t.slug, user.email, WRONG, ip))
    throttled(await tenantLogin(t.slug, user.email, WRONG, ip))
    const stub = await accountThrottle(t.slug, user.email)
    await age(stub, MINUTE + 1000)
    // The wait is over: one more try, and its failure blocks twice as long.
    expectProblem(await tenantLogin(t.slug, user.email, WRONG, ip), 401, 'invalid-credentials')
    const second = throttled(await tenantLogin(t.slug, user.email, user.password, ip))
    expect({ retryAfter: second.retryAfter, rateLimit: second.rateLimit }).toEqual({ retryAfter: '120', rateLimit: '"pair";r=0;t=120' })
    const blocks = (await tenantEvents('security.throttled', 'pair')).filter((e) => e.target_id === user.id)
    expect(blocks.map((e) => e.details)).toEqual([
      { scope: 'pair', count: 10, window: 60, owner_notified: true, email: user.email, network: ip },
      // The refusals of the first block are summed up with the second; the owner was told once.
      { scope: 'pair', count: 11, window: 120, refused_previous_block: 2, email: user.email, network: ip },
    ])
    expect((await mailsTo(user.email)).filter((m) => m.subject === '【Mamori】サインインの失敗が続いています')).toHaveLength(1)
    await age(stub, 2 * MINUTE + 1000)
    const back = await tenantLogin(t.slug, user.email, user.password, ip)
    expect({ status: back.status, result: back.body.status }).toEqual({ status: 200, result: 'ok' })
    expect((await counters(stub)).filter((c) => c.scope === 'pair' || c.scope === 'account')).toEqual([])
    expect(await failTimes(10, t.slug, user.email, ip)).toEqual(Array(10).fill(401))
  })

  it('does not count attempts an allowlist refused before the password against the account, only against the network', async () => {
    const fenced = await tenantWithAdmin()
    const office = '192.0.2.10'
    const policy = await call('PUT', '/api/v1/policy', {
      token: fenced.adminToken,
      body: { ip_allowlist: { admin: ['192.0.2.0/24'], member: ['192.0.2.0/24'] } },
      headers: from(office),
    })
    expect(policy.status).toBe(200)
    const outside = freshIp()
    for (let i = 0; i < 15; i++) expectProblem(await tenantLogin(fenced.slug, fenced.adminEmail, WRONG, outside), 403, 'source-not-allowed')
    expect((await counters(await accountThrottle(fenced.slug, fenced.adminEmail))).filter((c) => c.scope === 'pair' || c.scope === 'account')).toEqual([])
    expect((await counters(await networkThrottle(outside))).map((c) => ({ scope: c.scope, count: c.count }))).toEqual([{ scope: 'ip', count: 15 }])
    expect((await tenantLogin(fenced.slug, fenced.adminEmail, fenced.adminPassword, office)).body.status).toBe('ok')
  })

  it('counts IPv6 clients by their /64', async () => {
    const user = await userOf(t)
    expect(await failTimes(5, t.slug, user.email, '2001:db8:a:b::1')).toEqual(Array(5).fill(401))
    expect(await failTimes(5, t.slug, user.email, '2001:db8:a:b:ffff:ffff:ffff:ffff')).toEqual(Array(5).fill(401))
    throttled(await tenantLogin(t.slug, user.email, user.password, '2001:db8:a:b::42'))
    expectProblem(await tenantLogin(t.slug, user.email, WRONG, '2001:db8:a:c::1'), 401, 'invalid-credentials')
  })
})

describe('one account from anywhere (account)', () => {
  async function lockByHundred(slug: string, email: string) {
    const statuses: number[] = []
    for (let n = 0; n < 10; n++) statuses.push(...(await failTimes(10, slug, email, freshIp())))
    return statuses
  }

  it('locks the account at the 100th failure in a row from 10 networks until an admin unlocks it', async () => {
    const user = await userOf(t)
    expect(await lockByHundred(t.slug, user.email)).toEqual(Array(100).fill(401))
    const elsewhere = freshIp()
    const locked = throttled(await tenantLogin(t.slug, user.email, user.password, elsewhere))
    expect(locked).toEqual({ retryAfter: '3600', policy: '"account";q=100', rateLimit: '"account";r=0', body: problemBody('account') })
    const lockEvents = (await tenantEvents('security.account_locked', 'account')).filter((e) => e.target_id === user.id)
    expect(lockEvents.map((e) => e.details)).toEqual([{ scope: 'account', count: 100, window: null, owner_notified: true, email: user.email }])
    expect((await mailsTo(user.email)).filter((m) => m.subject === '【Mamori】アカウントがロックされました')).toHaveLength(1)
    // The admins and the operators' webhook hear of the lock too (SE-28).
    const lockAlerts = (await events(t.id, 'security.alert')).filter((e) => e.target_id === user.id && e.details.kind === 'account_locked')
    expect(lockAlerts.map((e) => ({ scope: e.details.scope, count: e.details.count }))).toEqual([{ scope: 'account', count: 100 }])
    // The lock holds whatever the network, and refusals append nothing.
    const length = await chainLength(t.id)
    throttled(await tenantLogin(t.slug, user.email, user.password, freshIp()))
    expect(await chainLength(t.id)).toBe(length)

    const unlocked = await call('POST', `/api/v1/users/${user.id}/unlock`, { token: t.adminToken })
    expect({ status: unlocked.status, body: unlocked.body }).toEqual({ status: 200, body: { id: user.id, unlocked: ['account', 'pair'] } })
    const audited = (await events(t.id, 'user.unlock')).filter((e) => e.target_id === user.id)
    expect(audited.map((e) => ({ actor: e.actor_id, outcome: e.outcome, details: e.details }))).toEqual([
      { actor: t.adminId, outcome: 'success', details: { email: user.email, unlocked: ['account', 'pair'] } },
    ])
    const back = await tenantLogin(t.slug, user.email, user.password, elsewhere)
    expect(back.body.status).toBe('ok')
    expect(await counters(await accountThrottle(t.slug, user.email))).toEqual([])
  })

  it('locks an unknown account exactly as a real one', async () => {
    const email = `ghost-${crypto.randomUUID().slice(0, 8)}@${t.slug}.example`
    expect(await lockByHundred(t.slug, email)).toEqual(Array(100).fill(401))
    expect(throttled(await tenantLogin(t.slug, email, WRONG, freshIp()))).toEqual({
      retryAfter: '3600',
      policy: '"account";q=100',
      rateLimit: '"account";r=0',
      body: problemBody('account'),
    })
  })

  it('answers an unlock of another tenant’s account with 404 and a member’s with 403', async () => {
    const other = await tenantWithAdmin()
    const stranger = await userOf(other)
    expectProblem(await call('POST', `/api/v1/users/${stranger.id}/unlock`, { token: t.adminToken }), 404, 'not-found')
    const member = await userOf(t)
    expectProblem(await call('POST', `/api/v1/users/${member.id}/unlock`, { token: member.token }), 403, 'forbidden')
    const nothing = await call('POST', `/api/v1/users/${member.id}/unlock`, { token: t.adminToken })
    expect(nothing.body).toEqual({ id: member.id, unlocked: [] })
  })
})

describe('one network across accounts (ip)', () => {
  it('refuses a network at its 101st failure of the day across accounts and tenants; a success gives its attempt back', async () => {
    const ip = freshIp()
    const user = await userOf(t)
    const statuses: number[] = []
    for (let i = 0; i < 99; i++) {
      const slug = i % 3 === 0 ? uniqueSlug('list') : t.slug
      statuses.push((await tenantLogin(slug, `list-${i}@victims.example`, WRONG, ip)).status)
    }
    expect(statuses).toEqual(Array(99).fill(401))
    expect((await tenantLogin(t.slug, user.email, user.password, ip)).body.status).toBe('ok')
    expectProblem(await tenantLogin(t.slug, 'list-last@victims.example', WRONG, ip), 401, 'invalid-credentials')
    const refused = throttled(await tenantLogin(t.slug, user.email, user.password, ip))
    expect(refused.policy).toBe('"ip";q=100;w=86400')
    const wait = Number(refused.retryAfter)
    expect(wait).toBeGreaterThan(86_000)
    expect(wait).toBeLessThanOrEqual(86_400)
    expect(refused.rateLimit).toBe(`"ip";r=0;t=${wait}`)
    expect(refused.body).toEqual(problemBody('ip'))
    const blocks = (await events('platform', 'security.throttled')).filter((e) => e.details.scope === 'ip' && e.details.network === ip)
    expect(blocks.map((e) => e.details)).toEqual([{ scope: 'ip', count: 100, window: 86_400, network: ip }])

    await age(await networkThrottle(ip), DAY)
    expect((await tenantLogin(t.slug, user.email, user.password, ip)).body.status).toBe('ok')
  })
})

describe('second factors', () => {
  async function withEmailFactor(): Promise<TestUser> {
    const user = await userOf(t)
    const enabled = await call('POST', '/api/v1/me/mfa/email', { token: user.token, body: { current_password: user.password } })
    expect(enabled.status).toBe(200)
    return user
  }

  async function challenge(user: TestUser, ip: string): Promise<string> {
    const login = await tenantLogin(t.slug, user.email, user.password, ip)
    expect(login.body.status).toBe('mfa_required')
    return login.body.challenge
  }

  const answer = (challengeToken: string, code: string, ip: string) =>
    call('POST', '/api/v1/auth/mfa', { body: { challenge: challengeToken, code }, headers: from(ip) })

  it('counts wrong codes across challenges: the 10th locks the second step, ends pending challenges and refuses a new one', async () => {
    const user = await withEmailFactor()
    const ip = freshIp()
    const first = await challenge(user, ip)
    for (let i = 0; i < 5; i++) expectProblem(await answer(first, '000000', ip), 401, 'mfa-failed')
    const second = await challenge(user, ip)
    for (let i = 0; i < 4; i++) expectProblem(await answer(second, '000000', ip), 401, 'mfa-failed')
    const third = await challenge(user, ip)
    const thirdCode = await lastCode(user.email)
    expectProblem(await answer(second, '000000', ip), 401, 'mfa-failed')
    // The lock ended the pending challenge: even its right code is dead now.
    expectProblem(await answer(third, thirdCode, ip), 401, 'mfa-failed')
    const refused = throttled(await tenantLogin(t.slug, user.email, user.password, freshIp()))
    expect(refused).toEqual({ retryAfter: '3600', policy: '"mfa";q=10', rateLimit: '"mfa";r=0', body: problemBody('mfa') })
    const locks = (await tenantEvents('security.account_locked', 'mfa')).filter((e) => e.target_id === user.id)
    expect(locks.map((e) => e.details)).toEqual([{ scope: 'mfa', count: 10, window: null, owner_notified: true, email: user.email }])
    expect((await mailsTo(user.email)).filter((m) => m.subject === '【Mamori】2 段階認証がロックされました')).toHaveLength(1)

    const unlocked = await call('POST', `/api/v1/users/${user.id}/unlock`, { token: t.adminToken })
    expect(unlocked.body.unlocked).toEqual(['mfa'])
    const again = await challenge(user, ip)
    const done = await answer(again, await lastCode(user.email), ip)
    expect(done.body.status).toBe('ok')
  })

  it('counts a wrong code at a factor change in the same run as sign-in codes', async () => {
    const user = await withEmailFactor()
    const ip = freshIp()
    for (const _ of [1, 2]) {
      const token = await challenge(user, ip)
      for (let i = 0; i < (_ === 1 ? 5 : 4); i++) expectProblem(await answer(token, '000000', ip), 401, 'mfa-failed')
    }
    const removal = await call('DELETE', '/api/v1/me/mfa', { token: user.token, body: { current_password: user.password, code: '000000' }, headers: from(ip) })
    expectProblem(removal, 422, 'validation')
    throttled(await tenantLogin(t.slug, user.email, user.password, ip))
    const blocked = await call('DELETE', '/api/v1/me/mfa', { token: user.token, body: { current_password: user.password, code: '000000' }, headers: from(ip) })
    expect(throttled(blocked).policy).toBe('"mfa";q=10')
  })

  it('mails at most 5 unanswered codes an hour; an answered code gives its place back', async () => {
    const user = await withEmailFactor()
    const ip = freshIp()
    const tokens: string[] = []
    for (let i = 0; i < 5; i++) tokens.push(await challenge(user, ip))
    const capped = throttled(await tenantLogin(t.slug, user.email, user.password, ip))
    expect(capped.policy).toBe('"mfa_mail";q=5;w=3600')
    expect(Number(capped.retryAfter)).toBeGreaterThan(3500)
    expect(capped.body).toEqual(problemBody('mfa_mail'))
    expect((await mailsTo(user.email)).filter((m) => m.subject.startsWith('【Mamori】サインイン確認コード'))).toHaveLength(5)
    const trips = (await tenantEvents('security.throttled', 'mfa_mail')).filter((e) => e.target_id === user.id)
    expect(trips.map((e) => e.details)).toEqual([{ scope: 'mfa_mail', count: 5, window: 3600, email: user.email }])

    expect((await answer(tokens[4]!, await lastCode(user.email), ip)).body.status).toBe('ok')
    await challenge(user, ip)
    throttled(await tenantLogin(t.slug, user.email, user.password, ip))
    // The step-up code of a signed-in session counts against the same cap.
    expect(throttled(await call('POST', '/api/v1/me/mfa/code', { token: user.token })).policy).toBe('"mfa_mail";q=5;w=3600')

    await age(await accountThrottle(t.slug, user.email), HOUR)
    await challenge(user, ip)
  })

  it('refuses a network after 30 answers to dead or unknown challenges; malformed ones cost nothing', async () => {
    const ip = freshIp()
    const unknown = () => `mc1.${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) statuses.push((await answer(unknown(), '123456', ip)).status)
    expect(statuses).toEqual(Array(30).fill(401))
    const refused = throttled(await answer(unknown(), '123456', ip))
    expect(refused.policy).toBe('"challenge";q=30;w=3600')
    expect(refused.body).toEqual(problemBody('challenge'))
    const other = freshIp()
    for (let i = 0; i < 40; i++) expectProblem(await answer('not-a-challenge', '123456', other), 401, 'mfa-failed')
    expect(await counters(await networkThrottle(other))).toEqual([])
  })
})

describe('re-authentication of a signed-in account (reauth)', () => {
  it('refuses the 11th current-password guess in a row, before the password is checked', async () => {
    const user = await userOf(t)
    const ip = freshIp()
    for (let i = 0; i < 10; i++) {
      const reply = await call('POST', '/api/v1/auth/password', { token: user.token, body: { current_password: WRONG, new_password: strongPassword() }, headers: from(ip) })
      expectProblem(reply, 422, 'validation')
    }
    const refused = throttled(
      await call('POST', '/api/v1/auth/password', { token: user.token, body: { current_password: user.password, new_password: strongPassword() }, headers: from(ip) }),
    )
    expect(refused).toEqual({ retryAfter: '60', policy: '"reauth";q=10;w=86400', rateLimit: '"reauth";r=0;t=60', body: problemBody('reauth') })
    const trips = (await tenantEvents('security.throttled', 'reauth')).filter((e) => e.target_id === user.id)
    expect(trips.map((e) => e.details)).toEqual([{ scope: 'reauth', count: 10, window: 60, email: user.email }])
  })
})

describe('leaked credentials (Exposed-Credential-Check)', () => {
  it('signs a leaked right password in only to a password change, after a mailed code when the account has no second factor', async () => {
    const user = await userOf(t)
    const ip = freshIp()
    const login = await tenantLogin(t.slug, user.email, user.password, ip, { 'Exposed-Credential-Check': '1' })
    expect(login.body).toEqual({ status: 'mfa_required', challenge: expect.any(String), methods: ['email'] })
    const done = await call('POST', '/api/v1/auth/mfa', { body: { challenge: login.body.challenge, code: await lastCode(user.email) }, headers: from(ip) })
    expect(done.body).toEqual({ status: 'password_change_required', token: expect.any(String), expires_at: expect.any(String) })
    const leaks = (await events(t.id, 'security.leaked_credential')).filter((e) => e.target_id === user.id)
    expect(leaks.map((e) => ({ outcome: e.outcome, details: e.details }))).toEqual([
      { outcome: 'denied', details: { reason: 'leaked_credential', check: '1', password_change_required: true, email_code_required: true } },
    ])
    // Until it is changed, the password signs in to nothing else, header or not.
    const later = await tenantLogin(t.slug, user.email, user.password, ip)
    expect(later.body.status).toBe('password_change_required')
    const fresh = strongPassword()
    const changed = await call('POST', '/api/v1/auth/password', { token: later.body.token, body: { current_password: user.password, new_password: fresh } })
    expect(changed.status).toBe(200)
    expect((await tenantLogin(t.slug, user.email, fresh, ip)).body.status).toBe('ok')
  })

  it('holds an account with a second factor to the change once its second step passed', async () => {
    const user = await userOf(t)
    await call('POST', '/api/v1/me/mfa/email', { token: user.token, body: { current_password: user.password } })
    const ip = freshIp()
    const login = await tenantLogin(t.slug, user.email, user.password, ip, { 'Exposed-Credential-Check': '4' })
    expect(login.body.status).toBe('mfa_required')
    const done = await call('POST', '/api/v1/auth/mfa', { body: { challenge: login.body.challenge, code: await lastCode(user.email) }, headers: from(ip) })
    expect(done.body.status).toBe('password_change_required')
    expect((await events(t.id, 'security.leaked_credential')).filter((e) => e.target_id === user.id)[0]!.details).toEqual({
      reason: 'leaked_credential',
      check: '4',
      password_change_required: true,
      email_code_required: false,
    })
  })

  it('ignores a leaked username alone (2), and a wrong password learns nothing from the header', async () => {
    const user = await userOf(t)
    const ip = freshIp()
    expect((await tenantLogin(t.slug, user.email, user.password, ip, { 'Exposed-Credential-Check': '2' })).body.status).toBe('ok')
    expectProblem(await tenantLogin(t.slug, user.email, WRONG, ip, { 'Exposed-Credential-Check': '1' }), 401, 'invalid-credentials')
    expect((await events(t.id, 'security.leaked_credential')).filter((e) => e.target_id === user.id)).toEqual([])
    expect((await tenantLogin(t.slug, user.email, user.password, ip)).body.status).toBe('ok')
  })
})

describe('other unauthenticated paths that cost a write', () => {
  it('audits 10 bad bootstrap tokens from one network, even when 30 race, and refuses the rest with no audit append', async () => {
    await operator()
    const ip = freshIp()
    const before = await chainLength('platform')
    const replies = await Promise.all(
      Array.from({ length: 30 }, () => call('POST', '/ops/v1/bootstrap', { token: `not-the-token-${crypto.randomUUID()}`, body: OPERATOR, headers: from(ip) })),
    )
    const statuses = replies.map((r) => r.status).sort()
    expect(statuses).toEqual([...Array(10).fill(401), ...Array(20).fill(429)])
    expect(await chainLength('platform')).toBe(before + 11)
    const refused = throttled(replies.find((r) => r.status === 429)!)
    expect(refused.policy).toBe('"bootstrap";q=10;w=3600')
    expect(refused.body).toEqual(problemBody('bootstrap'))
    const blocks = (await events('platform', 'security.throttled')).filter((e) => e.details.scope === 'bootstrap')
    expect(blocks.map((e) => e.details)).toEqual([{ scope: 'bootstrap', count: 10, window: 3600, network: ip }])
    // Even the right token waits out the hour from that network.
    throttled(await call('POST', '/ops/v1/bootstrap', { token: BOOTSTRAP_TOKEN, body: OPERATOR, headers: from(ip) }))
    expect(await chainLength('platform')).toBe(before + 11)
  })

  it('refuses a network after 100 tokens that wake a session store holding no such session', async () => {
    const ip = freshIp()
    const forged = () => `mt1.${t.id}.0.${toBase64Url(crypto.getRandomValues(new Uint8Array(32)))}`
    const statuses: number[] = []
    for (let i = 0; i < 100; i++) statuses.push((await call('GET', '/api/v1/me', { token: forged(), headers: from(ip) })).status)
    expect(statuses).toEqual(Array(100).fill(401))
    const refused = throttled(await call('GET', '/api/v1/me', { token: forged(), headers: from(ip) }))
    expect(refused.policy).toBe('"token";q=100;w=3600')
    expect(refused.body).toEqual(problemBody('token'))
    const blocks = (await events('platform', 'security.throttled')).filter((e) => e.details.scope === 'token')
    expect(blocks.map((e) => e.details)).toEqual([{ scope: 'token', count: 100, window: 3600, network: ip }])
    // Refused before any session store is woken, a real token too; a real session elsewhere is untouched.
    const member = await userOf(t)
    throttled(await call('GET', '/api/v1/me', { token: member.token, headers: from(ip) }))
    expect((await call('GET', '/api/v1/me', { token: member.token, headers: from(freshIp()) })).status).toBe(200)
    // Tokens of the wrong shape wake nothing and count nothing.
    const other = freshIp()
    for (let i = 0; i < 120; i++) expectProblem(await call('GET', '/api/v1/me', { token: `mt1.${t.id}.9.${'A'.repeat(43)}`, headers: from(other) }), 401, 'unauthenticated')
    expect(await counters(await networkThrottle(other))).toEqual([])
  })
})

describe('operators', () => {
  it('throttles operator sign-in with the same pair scheme, the platform as realm', async () => {
    await operator()
    const ip = freshIp()
    for (let i = 0; i < 10; i++) {
      expectProblem(await call('POST', '/ops/v1/auth/login', { body: { email: OPERATOR.email, password: WRONG }, headers: from(ip) }), 401, 'invalid-credentials')
    }
    const refused = throttled(await call('POST', '/ops/v1/auth/login', { body: { email: OPERATOR.email, password: OPERATOR.password }, headers: from(ip) }))
    expect(refused).toEqual({ retryAfter: '60', policy: '"pair";q=10;w=86400', rateLimit: '"pair";r=0;t=60', body: problemBody('pair') })
    const pairs = (await counters(await operatorThrottle(OPERATOR.email))).filter((c) => c.scope === 'pair')
    expect(pairs).toHaveLength(1)
    const home = await call('POST', '/ops/v1/auth/login', { body: { email: OPERATOR.email, password: OPERATOR.password }, headers: from(freshIp()) })
    expect(home.body.status).toBe('mfa_required')
  })
})

describe('operators’ second factor', () => {
  it('locks an operator’s second step after 10 wrong codes, until another operator session unlocks it', async () => {
    const ops = await operator()
    const ip = freshIp()
    const start = () => call('POST', '/ops/v1/auth/login', { body: { email: OPERATOR.email, password: OPERATOR.password }, headers: from(ip) })
    for (const tries of [5, 5]) {
      const login = await start()
      expect(login.body.status).toBe('mfa_required')
      for (let i = 0; i < tries; i++) {
        expectProblem(await call('POST', '/ops/v1/auth/mfa', { body: { challenge: login.body.challenge, code: '000000' }, headers: from(ip) }), 401, 'mfa-failed')
      }
    }
    expect(throttled(await start()).policy).toBe('"mfa";q=10')
    const locks = (await events('platform', 'security.account_locked')).filter((e) => e.details.scope === 'mfa')
    expect(locks.map((e) => e.details)).toEqual([{ scope: 'mfa', count: 10, window: null, owner_notified: true, email: OPERATOR.email }])
    const list = await call('GET', '/ops/v1/operators', { token: ops })
    const me = list.body.items.find((o: { email: string }) => o.email === OPERATOR.email)
    const unlocked = await call('POST', `/ops/v1/operators/${me.id}/unlock`, { token: ops })
    // With the pair the earlier operator test blocked, when the whole file runs.
    expect(unlocked.body).toEqual({ id: me.id, unlocked: expect.arrayContaining(['mfa']) })
    expect((await events('platform', 'operator.unlock')).map((e) => e.details)).toEqual([{ email: OPERATOR.email, unlocked: unlocked.body.unlocked }])
    const again = await start()
    const done = await call('POST', '/ops/v1/auth/mfa', { body: { challenge: again.body.challenge, code: await lastCode(OPERATOR.email) }, headers: from(ip) })
    expect(done.body.status).toBe('ok')
  })
})
