import { SELF, createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { database } from '../src/db/client'
import worker from '../src/index'
import { alertWrites } from '../src/services/alerts/alerts'
import { DETECTORS } from '../src/services/alerts/detectors'
import { securityAlert } from '../src/services/alerts/security-alerts'
import { NETWORKS_PER_ACCOUNT } from '../src/services/alerts/networks'
import { WEBHOOK_BATCH, WEBHOOK_MAX_ATTEMPTS, deliverAlertWebhooks } from '../src/services/alerts/webhook'
import type { Delivery } from './doubles/alert-webhook'
import { ORIGIN, call, expectProblem, operator, strongPassword, tenantWithAdmin as japaneseTenantWithAdmin, userOf, type TestTenant, type TestUser } from './helpers'

const WEBHOOK = 'https://alerts.test'
const enc = (s: string) => new TextEncoder().encode(s)

// ---------------------------------------------------------------------------
// The webhook double (test/doubles/alert-webhook.ts) and the stored state.

async function received(tenant: string): Promise<Delivery[]> {
  return (await fetch(`${WEBHOOK}/__double/received?tenant=${encodeURIComponent(tenant)}`)).json()
}

/** Waits for the prompt delivery (which runs after the response) to bring `n` deliveries for `tenant`. */
async function deliveries(tenant: string, n: number): Promise<Delivery[]> {
  for (let i = 0; i < 100; i++) {
    const got = await received(tenant)
    if (got.length >= n) return got
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`fewer than ${n} webhook deliveries for ${tenant}`)
}

async function failNext(tenant: string, fail: number, status: number) {
  expect((await fetch(`${WEBHOOK}/__double/script`, { method: 'POST', body: JSON.stringify({ tenant, fail, status }) })).status).toBe(200)
}

/** The receiver's side: the key derived from MASTER_KEY as documented (HKDF-SHA-256, salt mamori/v1, info alert-webhook). */
async function receiverKey() {
  const master = await crypto.subtle.importKey('raw', Uint8Array.from(atob(env.MASTER_KEY), (c) => c.charCodeAt(0)), 'HKDF', false, ['deriveKey'])
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: enc('mamori/v1'), info: enc('alert-webhook') },
    master,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    false,
    ['verify'],
  )
}

async function signatureVerifies(delivery: Delivery, body = delivery.body) {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(delivery.headers['mamori-signature'] ?? '')
  if (!match) return false
  const mac = Uint8Array.from(match[2]!.match(/../g)!, (h) => parseInt(h, 16))
  const fresh = Math.abs(Date.now() / 1000 - Number(match[1])) < 300
  return fresh && crypto.subtle.verify('HMAC', await receiverKey(), mac, enc(`${match[1]}.${body}`))
}

type OutboxRow = { id: string; status: string; attempts: number; next_attempt_at: string; last_error: string | null; payload: string }

async function outboxRow(id: string) {
  return env.DB.prepare('SELECT * FROM alert_outbox WHERE id = ?').bind(id).first<OutboxRow>()
}

async function waitForRow(id: string, done: (row: OutboxRow) => boolean) {
  for (let i = 0; i < 100; i++) {
    const row = await outboxRow(id)
    if (row && done(row)) return row
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`alert ${id} never got there`)
}

async function fiveMinuteCron(scheduledTime = Date.now()) {
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: '*/5 * * * *', scheduledTime }), env, ctx)
  await waitOnExecutionContext(ctx)
}

type Event = { action: string; category: string; actor_type: string; actor_id: string | null; target_type: string | null; target_id: string | null; outcome: string; details: any }

async function events(chain: string, action: string): Promise<Event[]> {
  const rows = await env.DB.prepare(
    'SELECT action, category, actor_type, actor_id, target_type, target_id, outcome, details FROM audit_events WHERE chain = ? AND action = ? ORDER BY seq',
  )
    .bind(chain, action)
    .all<Event & { details: string }>()
  return rows.results.map((r) => ({ ...r, details: JSON.parse(r.details) }))
}

async function mailsTo(address: string) {
  const rows = await env.DB.prepare('SELECT subject, body FROM mail_outbox WHERE to_address = ? ORDER BY id').bind(address).all<{ subject: string; body: string }>()
  return rows.results
}

const alertMails = async (address: string) => (await mailsTo(address)).filter((m) => /Security alert|New sign-in/.test(m.subject))

/** The alert texts below are asserted in English: the tenant says so (Japanese is the default). */
async function tenantWithAdmin(): Promise<TestTenant> {
  const tenant = await japaneseTenantWithAdmin()
  const patched = await call('PATCH', `/ops/v1/tenants/${tenant.id}`, { token: await operator(), body: { language: 'en' } })
  expect(patched.status).toBe(200)
  return tenant
}

function loginFrom(ip: string, tenant: string, email: string, password: string) {
  return call('POST', '/api/v1/auth/login', { body: { tenant, email, password }, headers: { 'CF-Connecting-IP': ip } })
}

async function signInFrom(ip: string, tenant: TestTenant, user: { email: string; password: string }) {
  const reply = await loginFrom(ip, tenant.slug, user.email, user.password)
  expect(reply.status, JSON.stringify(reply.body)).toBe(200)
  expect(reply.body.status).toBe('ok')
  return reply.body.token as string
}

async function networksOf(accountId: string) {
  const rows = await env.DB.prepare('SELECT network FROM account_networks WHERE account_id = ? ORDER BY first_seen_at').bind(accountId).all<{ network: string }>()
  return rows.results.map((r) => r.network)
}

/** What must never appear in an alert: the account's password and session token. */
function expectNoSecrets(text: string, user: { password: string; token?: string }) {
  expect(text).not.toContain(user.password)
  if (user.token) expect(text).not.toContain(user.token)
  expect(text).not.toContain(env.MASTER_KEY)
}

// ---------------------------------------------------------------------------

describe('sign-in from a network never seen for the account', () => {
  let tenant: TestTenant
  let member: TestUser

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    member = await userOf(tenant)
  })

  it('raises nothing on an account\u2019s very first sign-in, and remembers its network', async () => {
    const email = `first-${crypto.randomUUID().slice(0, 8)}@${tenant.slug}.example`
    const created = await call('POST', '/api/v1/users', { token: tenant.adminToken, body: { email, name: 'First', role: 'member' } })
    expect(created.status).toBe(201)
    const first = await loginFrom('192.0.2.10', tenant.slug, email, created.body.temporary_password)
    expect(first.body.status).toBe('password_change_required')
    expect(await networksOf(created.body.id)).toEqual(['192.0.2.0/24'])
    expect(await alertMails(email)).toEqual([])
    expect((await events(tenant.id, 'security.new_network_sign_in')).filter((e) => e.target_id === created.body.id)).toEqual([])

    // The remembered network counts: the next sign-in from elsewhere is news.
    const password = strongPassword()
    const changed = await call('POST', '/api/v1/auth/password', {
      token: first.body.token,
      body: { current_password: created.body.temporary_password, new_password: password },
    })
    expect(changed.status).toBe(200)
    await signInFrom('198.51.100.20', tenant, { email, password })
    expect((await alertMails(email)).map((m) => m.subject)).toEqual(['[Mamori] New sign-in to your account'])
  })

  it('raises nothing for a new address in a network the account already used', async () => {
    await signInFrom('203.0.113.5', tenant, member)
    await signInFrom('203.0.113.77', tenant, member)
    expect(await networksOf(member.id)).toEqual(['203.0.113.0/24'])
    expect(await events(tenant.id, 'security.new_network_sign_in')).toHaveLength(1) // the previous test's account only
    expect(await alertMails(member.email)).toEqual([])
  })

  it('mails the account and the admins, audits security.new_network_sign_in and sends the webhook, on a new network', async () => {
    const before = (await received(tenant.id)).length
    const token = await signInFrom('198.51.100.9', tenant, member)
    const event = (await events(tenant.id, 'security.new_network_sign_in')).at(-1)!
    expect(event).toEqual({
      action: 'security.new_network_sign_in',
      category: 'security',
      actor_type: 'system',
      actor_id: 'intrusion-detection',
      target_type: 'user',
      target_id: member.id,
      outcome: 'success',
      details: {
        kind: 'new_network_sign_in',
        alert_id: expect.stringMatching(/^alr_[0-9a-z]{26}$/),
        network: '198.51.100.0/24',
        notified: { admins: 1, user: true, webhook: true },
      },
    })
    expect(await networksOf(member.id)).toEqual(['203.0.113.0/24', '198.51.100.0/24'])

    const [userMail] = await alertMails(member.email)
    expect(userMail!.subject).toBe('[Mamori] New sign-in to your account')
    expect(userMail!.body).toContain(`Your account ${member.email} at Tenant ${tenant.slug} was just signed in to from a network it has not used before.`)
    expect(userMail!.body).toContain('network: 198.51.100.0/24')
    expect(userMail!.body).toContain('change your password now')
    const adminMail = (await alertMails(tenant.adminEmail)).at(-1)!
    expect(adminMail.subject).toBe('[Mamori] Security alert: sign-in from a new network')
    expect(adminMail.body).toContain(`Account: ${member.email} (${member.id})`)
    expect(adminMail.body).toContain('action "security.new_network_sign_in"')
    for (const mail of [userMail!, adminMail]) expectNoSecrets(mail.body, { password: member.password, token })

    const delivery = (await deliveries(tenant.id, before + 1)).at(-1)!
    expect(delivery.path).toBe('/hooks/mamori')
    expect(delivery.headers['content-type']).toBe('application/json')
    expect(delivery.headers['mamori-alert-id']).toBe(event.details.alert_id)
    expect(delivery.headers['user-agent']).toBe('Mamori-Alerts/0.1.0')
    expect(await signatureVerifies(delivery)).toBe(true)
    expect(await signatureVerifies(delivery, delivery.body.replace('198.51.100.0', '198.51.100.1'))).toBe(false)
    expect(JSON.parse(delivery.body)).toEqual({
      id: event.details.alert_id,
      category: 'security',
      kind: 'new_network_sign_in',
      action: 'security.new_network_sign_in',
      occurred_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      tenant: { id: tenant.id, slug: tenant.slug },
      subject: { type: 'user', id: member.id },
      details: { network: '198.51.100.0/24' },
      request_id: expect.any(String),
    })
    // Operators read the webhook: no e-mail address, no secret.
    expect(delivery.body).not.toContain(member.email)
    expectNoSecrets(delivery.body, { password: member.password, token })
    expect((await waitForRow(event.details.alert_id, (r) => r.status === 'sent')).attempts).toBe(1)
  })

  it('raises it once per network: the next sign-in from there is quiet', async () => {
    const mails = (await alertMails(member.email)).length
    await signInFrom('198.51.100.200', tenant, member)
    expect((await events(tenant.id, 'security.new_network_sign_in')).filter((e) => e.target_id === member.id)).toHaveLength(1)
    expect(await alertMails(member.email)).toHaveLength(mails)
  })

  it('tells IPv6 networks apart by /48', async () => {
    const user = await userOf(tenant)
    await signInFrom('2001:db8:1:2::1', tenant, user)
    await signInFrom('2001:db8:1:ffff::9', tenant, user)
    expect(await alertMails(user.email)).toEqual([])
    await signInFrom('2001:db8:2::1', tenant, user)
    expect(await networksOf(user.id)).toEqual(['2001:db8:1::/48', '2001:db8:2::/48'])
    expect((await events(tenant.id, 'security.new_network_sign_in')).at(-1)!.details.network).toBe('2001:db8:2::/48')
  })

  it(`remembers at most ${NETWORKS_PER_ACCOUNT} networks per account, forgetting the least recently seen`, async () => {
    const user = await userOf(tenant)
    for (let i = 0; i <= NETWORKS_PER_ACCOUNT; i++) await signInFrom(`10.${i}.0.1`, tenant, user)
    const known = await networksOf(user.id)
    expect(known).toHaveLength(NETWORKS_PER_ACCOUNT)
    expect(known).not.toContain('10.0.0.0/24')
    expect(known.at(-1)).toBe(`10.${NETWORKS_PER_ACCOUNT}.0.0/24`)
    // Forgotten means new again.
    const alerts = (await events(tenant.id, 'security.new_network_sign_in')).filter((e) => e.target_id === user.id).length
    expect(alerts).toBe(NETWORKS_PER_ACCOUNT)
    await signInFrom('10.0.0.1', tenant, user)
    expect((await events(tenant.id, 'security.new_network_sign_in')).filter((e) => e.target_id === user.id)).toHaveLength(alerts + 1)
  })

  it('mails an admin who signs in from a new network once, as the account, not again as an admin', async () => {
    const admin = await userOf(tenant, 'admin')
    await signInFrom('192.0.2.44', tenant, admin)
    await signInFrom('198.18.0.1', tenant, admin)
    expect((await alertMails(admin.email)).map((m) => m.subject)).toEqual(['[Mamori] New sign-in to your account'])
    expect((await alertMails(tenant.adminEmail)).at(-1)!.body).toContain(`Account: ${admin.email}`)
  })
})

describe('many permission failures from one session', () => {
  const { threshold } = DETECTORS.permissionFailures
  let tenant: TestTenant
  let member: TestUser

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    member = await userOf(tenant)
  })

  const refused = async (path: string) => expectProblem(await call('GET', path, { token: member.token, headers: { 'CF-Connecting-IP': '203.0.113.50' } }), 403, 'forbidden')

  it(`raises security.permission_failures at the ${threshold}th 403 of a session, once in its window, with the count`, async () => {
    const before = (await received(tenant.id)).length
    // Missing permissions and missing roles both count.
    for (let i = 1; i < threshold; i++) await refused(i % 2 ? '/api/v1/audit' : '/api/v1/policy')
    expect(await events(tenant.id, 'security.permission_failures')).toEqual([])
    expect(await alertMails(tenant.adminEmail)).toEqual([])

    const last = await refused('/api/v1/audit')
    expect(last.detail).toBe('This needs the permission "audit:read", which your account does not have.')
    const [event, ...more] = await events(tenant.id, 'security.permission_failures')
    expect(more).toEqual([])
    expect(event).toMatchObject({ category: 'security', actor_type: 'system', target_type: 'user', target_id: member.id })
    expect(event!.details).toMatchObject({ kind: 'permission_failures', count: threshold, threshold, session_id: expect.stringMatching(/^ses_/), network: '203.0.113.0/24' })

    for (let i = 0; i < 5; i++) await refused('/api/v1/audit')
    expect(await events(tenant.id, 'security.permission_failures')).toHaveLength(1)
    const counter = await env.DB.prepare("SELECT count, fired FROM alert_counters WHERE key = ?").bind(`forbidden:${event!.details.session_id}`).first()
    expect(counter).toEqual({ count: threshold + 5, fired: 1 })

    const mails = await alertMails(tenant.adminEmail)
    expect(mails.map((m) => m.subject)).toEqual(['[Mamori] Security alert: many permission failures from one session'])
    expect(mails[0]!.body).toContain(`Count: ${threshold} within ${DETECTORS.permissionFailures.windowMinutes} minutes`)
    expect(await alertMails(member.email)).toEqual([])

    const delivery = (await deliveries(tenant.id, before + 1)).at(-1)!
    expect(await signatureVerifies(delivery)).toBe(true)
    const body = JSON.parse(delivery.body)
    expect(body).toMatchObject({
      kind: 'permission_failures',
      action: 'security.permission_failures',
      tenant: { id: tenant.id, slug: tenant.slug },
      subject: { type: 'user', id: member.id },
      count: threshold,
      threshold,
      window: { start: event!.details.window_start, end: event!.details.window_end },
      details: { session_id: event!.details.session_id, network: '203.0.113.0/24' },
    })
    for (const text of [delivery.body, mails[0]!.body, JSON.stringify(event)]) expectNoSecrets(text, member)
  })

  it('counts each session on its own', async () => {
    const other = (await call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: member.email, password: member.password } })).body.token
    expectProblem(await call('GET', '/api/v1/audit', { token: other }), 403, 'forbidden')
    const { results } = await env.DB.prepare("SELECT count FROM alert_counters WHERE key LIKE 'forbidden:%' AND tenant_id = ? ORDER BY count").bind(tenant.id).all()
    expect(results).toEqual([{ count: 1 }, { count: threshold + 5 }])
  })

  it('counts nothing for requests that pass', async () => {
    const rows = async () => (await env.DB.prepare('SELECT count(*) AS n FROM alert_counters WHERE tenant_id = ?').bind(tenant.id).first<{ n: number }>())!.n
    const before = await rows()
    expect((await call('GET', '/api/v1/me', { token: member.token })).status).toBe(200)
    expect((await call('GET', '/api/v1/records', { token: member.token })).status).toBe(200)
    expect(await rows()).toBe(before)
  })
})

describe('a burst of downloads and exports', () => {
  const { threshold } = DETECTORS.extractions
  let tenant: TestTenant
  let fileId: string

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    const patched = await call('PATCH', `/api/v1/users/${tenant.adminId}`, {
      token: tenant.adminToken,
      body: { permissions: ['audit:read', 'download', 'files:read', 'files:write', 'records:read', 'records:write'] },
    })
    expect(patched.status).toBe(200)
    const put = await call('PUT', '/api/v1/files/report.txt', { token: tenant.adminToken, raw: enc('quarterly numbers'), headers: { 'Content-Type': 'text/plain' } })
    expect(put.status).toBe(201)
    fileId = put.body.id
  })

  it(`raises security.download_burst at the ${threshold}th download or export of one account in its window, once`, async () => {
    const download = async () => expect((await call('GET', `/api/v1/files/${fileId}`, { token: tenant.adminToken })).status).toBe(200)
    for (let i = 0; i < threshold - 2; i++) await download()
    // Reading the ledger in the console is no extraction; its CSV is.
    expect((await call('GET', '/api/v1/ledger', { token: tenant.adminToken })).status).toBe(200)
    expect((await call('GET', '/api/v1/ledger?format=csv', { token: tenant.adminToken })).status).toBe(200)
    expect(await events(tenant.id, 'security.download_burst')).toEqual([])

    const exported = await SELF.fetch(`${ORIGIN}/api/v1/audit/export`, { headers: { Authorization: `Bearer ${tenant.adminToken}` } })
    expect(exported.status).toBe(200)
    await exported.text()
    const [event, ...more] = await events(tenant.id, 'security.download_burst')
    expect(more).toEqual([])
    expect(event).toMatchObject({ category: 'security', target_type: 'user', target_id: tenant.adminId })
    expect(event!.details).toMatchObject({ kind: 'download_burst', count: threshold, threshold, last_action: 'audit.export' })

    await download()
    expect(await events(tenant.id, 'security.download_burst')).toHaveLength(1)
    expect((await alertMails(tenant.adminEmail)).map((m) => m.subject)).toEqual(['[Mamori] Security alert: burst of downloads and exports'])
    const body = JSON.parse((await deliveries(tenant.id, 1)).at(-1)!.body)
    expect(body).toMatchObject({ kind: 'download_burst', count: threshold, subject: { type: 'user', id: tenant.adminId } })
  })
})

describe('a burst of source-restriction refusals', () => {
  const { threshold } = DETECTORS.sourceRefusals
  const INSIDE = '10.1.2.3'
  const OUTSIDE = '203.0.113.9'
  let tenant: TestTenant
  let member: TestUser
  let token: string

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    member = await userOf(tenant)
    expect((await call('PUT', '/api/v1/policy', { token: tenant.adminToken, body: { ip_allowlist: { member: ['10.0.0.0/8'] } } })).status).toBe(200)
    token = await signInFrom(INSIDE, tenant, member)
  })

  it(`raises security.source_refusal_burst at the tenant\u2019s ${threshold}th refusal in its window, once`, async () => {
    const refused = async () =>
      expectProblem(await call('GET', '/api/v1/me', { token, headers: { 'CF-Connecting-IP': OUTSIDE } }), 403, 'source-not-allowed')
    for (let i = 1; i < threshold; i++) await refused()
    expect(await events(tenant.id, 'security.source_refused')).toHaveLength(threshold - 1)
    expect(await events(tenant.id, 'security.source_refusal_burst')).toEqual([])

    await refused()
    const [event, ...more] = await events(tenant.id, 'security.source_refusal_burst')
    expect(more).toEqual([])
    expect(event).toMatchObject({ category: 'security', target_type: 'tenant', target_id: tenant.id })
    expect(event!.details).toMatchObject({ kind: 'source_refusal_burst', count: threshold, threshold, last_rule: 'ip', last_network: '203.0.113.0/24' })
    // A refused sign-in counts towards the same tenant's burst.
    expectProblem(await loginFrom(OUTSIDE, tenant.slug, member.email, member.password), 403, 'source-not-allowed')
    await refused()
    expect(await events(tenant.id, 'security.source_refusal_burst')).toHaveLength(1)
    const counter = await env.DB.prepare('SELECT count, fired FROM alert_counters WHERE key = ?').bind(`source-refused:${tenant.id}`).first()
    expect(counter).toEqual({ count: threshold + 2, fired: 1 })
    expect((await alertMails(tenant.adminEmail)).map((m) => m.subject)).toEqual(['[Mamori] Security alert: many requests refused by source restrictions'])
    expect(JSON.parse((await deliveries(tenant.id, 1)).at(-1)!.body)).toMatchObject({ kind: 'source_refusal_burst', count: threshold, subject: { type: 'tenant', id: tenant.id } })
  })
})

describe('securityAlert() for detectors elsewhere (brute force, locked accounts)', () => {
  it('fires once per key and window: the repeat commits nothing and says so', async () => {
    const tenant = await tenantWithAdmin()
    const user = await userOf(tenant)
    const meta = { requestId: 'req_throttle_test', ip: '203.0.113.60', userAgent: null }
    const alert = {
      tenantId: tenant.id,
      kind: 'account_locked' as const,
      subject: { type: 'user', id: user.id, email: user.email },
      count: 100,
      threshold: 100,
      details: { network: '203.0.113.0/24' },
      notifyUser: true,
      once: { key: `locked:${user.id}`, windowMinutes: 60 },
    }
    const first = await securityAlert(env, database(env), meta, alert)
    expect(first).toEqual({ fired: true, alertId: expect.stringMatching(/^alr_/) })
    expect(await securityAlert(env, database(env), meta, alert)).toEqual({ fired: false, alertId: null })

    const recorded = await events(tenant.id, 'security.alert')
    expect(recorded).toEqual([
      expect.objectContaining({
        category: 'security',
        target_type: 'user',
        target_id: user.id,
        details: { kind: 'account_locked', alert_id: first.alertId, count: 100, threshold: 100, network: '203.0.113.0/24', notified: { admins: 1, user: true, webhook: true } },
      }),
    ])
    expect((await alertMails(tenant.adminEmail)).map((m) => m.subject)).toEqual(['[Mamori] Security alert: account locked'])
    expect((await mailsTo(user.email)).at(-1)!.subject).toBe('[Mamori] Security notice: account locked')
    const [delivery, ...more] = await deliveries(tenant.id, 1)
    expect(more).toEqual([])
    expect(JSON.parse(delivery!.body)).toMatchObject({ id: first.alertId, kind: 'account_locked', action: 'security.alert', count: 100 })
    expect(delivery!.body).not.toContain(user.email)
  })
})

describe('tenant isolation', () => {
  it('sends tenant A\u2019s alert to A\u2019s admins only, and records it in A\u2019s trail only', async () => {
    const a = await tenantWithAdmin()
    const b = await tenantWithAdmin()
    const secondAdminA = await userOf(a, 'admin')
    const member = await userOf(a)
    await signInFrom('192.0.2.1', a, member)
    await signInFrom('198.51.100.1', a, member)
    expect((await alertMails(a.adminEmail)).map((m) => m.subject)).toEqual(['[Mamori] Security alert: sign-in from a new network'])
    expect((await alertMails(secondAdminA.email)).map((m) => m.subject)).toEqual(['[Mamori] Security alert: sign-in from a new network'])
    expect(await alertMails(b.adminEmail)).toEqual([])
    const security = await call('GET', '/api/v1/audit?category=security', { token: b.adminToken })
    expect(security.body.items).toEqual([])
    const seenByA = await call('GET', '/api/v1/audit?category=security', { token: a.adminToken })
    expect(seenByA.body.items.map((e: { action: string }) => e.action)).toEqual(['security.new_network_sign_in'])
    expect(JSON.parse((await deliveries(a.id, 1))[0]!.body).tenant).toEqual({ id: a.id, slug: a.slug })
    expect(await received(b.id)).toEqual([])
  })
})

describe('webhook delivery', () => {
  let tenant: TestTenant

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
  })

  /** One new-network alert for a fresh account; answers its id. */
  async function raiseAlert() {
    const user = await userOf(tenant)
    await signInFrom('192.0.2.77', tenant, user)
    await signInFrom('198.51.100.77', tenant, user)
    return (await events(tenant.id, 'security.new_network_sign_in')).at(-1)!.details.alert_id as string
  }

  it('retries a failing receiver with backoff, with the same id and body each time, until it accepts', async () => {
    await failNext(tenant.id, 2, 503)
    const before = (await received(tenant.id)).length
    const id = await raiseAlert()
    // The prompt attempt, right after the sign-in, failed.
    const first = await waitForRow(id, (r) => r.last_error !== null)
    expect(first).toMatchObject({ status: 'queued', attempts: 1, last_error: 'HTTP 503' })
    const due = Date.parse(first.next_attempt_at)
    expect(due - Date.now()).toBeGreaterThan(50_000)

    await fiveMinuteCron() // not yet due
    expect((await outboxRow(id))!.attempts).toBe(1)
    await fiveMinuteCron(due + 1000)
    const second = (await outboxRow(id))!
    expect(second).toMatchObject({ status: 'queued', attempts: 2, last_error: 'HTTP 503' })
    expect(Date.parse(second.next_attempt_at)).toBe(due + 1000 + 120_000)
    await fiveMinuteCron(Date.parse(second.next_attempt_at))
    expect(await outboxRow(id)).toMatchObject({ status: 'sent', attempts: 3, last_error: null })

    const got = (await received(tenant.id)).slice(before)
    expect(got.map((d) => d.status)).toEqual([503, 503, 204])
    expect(new Set(got.map((d) => d.headers['mamori-alert-id']))).toEqual(new Set([id]))
    expect(new Set(got.map((d) => d.body)).size).toBe(1)
    for (const d of got) expect(await signatureVerifies(d)).toBe(true)
  })

  it(`gives up after ${WEBHOOK_MAX_ATTEMPTS} attempts and says so on the platform audit chain`, async () => {
    await failNext(tenant.id, 1000, 500)
    const before = (await received(tenant.id)).length
    const id = await raiseAlert()
    let row = await waitForRow(id, (r) => r.last_error !== null)
    while (row.status === 'queued') {
      await fiveMinuteCron(Date.parse(row.next_attempt_at))
      row = (await outboxRow(id))!
    }
    expect(row).toMatchObject({ status: 'failed', attempts: WEBHOOK_MAX_ATTEMPTS, last_error: 'HTTP 500' })
    expect((await received(tenant.id)).length - before).toBe(WEBHOOK_MAX_ATTEMPTS)
    const undelivered = (await events('platform', 'security.alert_undelivered')).filter((e) => e.target_id === id)
    expect(undelivered).toEqual([
      {
        action: 'security.alert_undelivered',
        category: 'security',
        actor_type: 'system',
        actor_id: 'alert-webhook',
        target_type: 'alert',
        target_id: id,
        outcome: 'failure',
        details: { kind: 'new_network_sign_in', tenant_id: tenant.id, attempts: WEBHOOK_MAX_ATTEMPTS, last_error: 'HTTP 500' },
      },
    ])
    // Given up means given up.
    await fiveMinuteCron(Date.parse(row.next_attempt_at) + 86_400_000)
    expect((await received(tenant.id)).length - before).toBe(WEBHOOK_MAX_ATTEMPTS)
    await failNext(tenant.id, 0, 500)
  })

  it(`delivers at most ${WEBHOOK_BATCH} alerts per run, oldest first`, async () => {
    const key = `batch-${crypto.randomUUID()}`
    const past = Date.now() - 60_000
    const rows = Array.from({ length: WEBHOOK_BATCH + 5 }, (_, i) => {
      const at = new Date(past + i).toISOString()
      return env.DB.prepare(
        "INSERT INTO alert_outbox (id, tenant_id, kind, payload, status, attempts, next_attempt_at, created_at) VALUES (?, NULL, 'test', ?, 'queued', 0, ?, ?)",
      ).bind(`alr_batch${String(i).padStart(4, '0')}${crypto.randomUUID().replace(/-/g, '').slice(0, 13)}`, JSON.stringify({ tenant: { id: key }, n: i }), at, at)
    })
    await env.DB.batch(rows)
    await fiveMinuteCron()
    const firstRun = await received(key)
    expect(firstRun.map((d) => JSON.parse(d.body).n)).toEqual(Array.from({ length: WEBHOOK_BATCH }, (_, i) => i))
    await fiveMinuteCron()
    expect(await received(key)).toHaveLength(WEBHOOK_BATCH + 5)
  })

  it('queues nothing for the webhook and sends nothing when ALERT_WEBHOOK_URL is empty', async () => {
    const db = database(env)
    const queued = alertWrites(
      { ALERT_WEBHOOK_URL: '' },
      db,
      { tenant: null, admins: [] },
      { category: 'security', kind: 'test', action: 'security.alert', mail: () => ({ subject: 's', text: 't' }), facts: {} },
    )
    expect(queued).toMatchObject({ writes: [], webhook: false, notified: { admins: 0, user: false, webhook: false } })
    expect(await deliverAlertWebhooks({ ...env, ALERT_WEBHOOK_URL: ' ' }, db)).toEqual({ sent: 0, failed: 0, gaveUp: 0 })
  })
})
