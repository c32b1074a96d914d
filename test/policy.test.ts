import { SELF, createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { newId } from '../src/lib/ids'
import { checkSource } from '../src/lib/source-rules'
import { operatorAllowlist, operatorSourceVerdict } from '../src/services/policy/source-restrictions'
import worker from '../src/index'
import {
  ORIGIN,
  call,
  expectProblem,
  lastCode,
  lastMail,
  operator,
  signIn,
  strongPassword,
  tenantWithAdmin,
  type Reply,
  type TestTenant,
} from './helpers'

// ---------------------------------------------------------------------------
// Helpers of this file
// ---------------------------------------------------------------------------

const DAY_MS = 86_400_000

/** What Cloudflare puts in request.cf.tlsClientAuth; only the fields the app reads. */
type TlsClientAuth = { certPresented: '0' | '1'; certVerified: string; certRevoked: '0' | '1'; certFingerprintSHA256: string }

type SendOptions = {
  token?: string
  body?: unknown
  /** Sent as CF-Connecting-IP. */
  ip?: string
  /** Sent as request.cf.tlsClientAuth. */
  tls?: TlsClientAuth
}

/** Like helpers.call, with a client address and a TLS client certificate in request.cf. */
async function send(method: string, path: string, options: SendOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = {}
  if (options.token) headers.Authorization = `Bearer ${options.token}`
  if (options.ip) headers['CF-Connecting-IP'] = options.ip
  let body: string | undefined
  if (options.body !== undefined) {
    body = JSON.stringify(options.body)
    headers['Content-Type'] = 'application/json'
  }
  const init = { method, headers, body, ...(options.tls ? { cf: { tlsClientAuth: options.tls } } : {}) }
  const res = await SELF.fetch(new Request(`${ORIGIN}${path}`, init as RequestInit))
  const text = await res.text()
  let parsed: unknown = text
  if (text && /json/.test(res.headers.get('Content-Type') ?? '')) parsed = JSON.parse(text)
  return { status: res.status, headers: res.headers, body: parsed }
}

function login(tenant: string, email: string, password: string, options: Omit<SendOptions, 'body' | 'token'> = {}) {
  return send('POST', '/api/v1/auth/login', { ...options, body: { tenant, email, password } })
}

/** Signs in and returns the full session token (asserting status ok). */
async function signInFrom(tenant: string, email: string, password: string, options: Omit<SendOptions, 'body' | 'token'> = {}) {
  const reply = await login(tenant, email, password, options)
  expect({ status: reply.status, login: reply.body.status }).toEqual({ status: 200, login: 'ok' })
  return reply.body.token as string
}

/** A certificate as Cloudflare reports it; `fingerprint` lower-case hex as Cloudflare sends it. */
function certificate(fingerprint: string, overrides: Partial<TlsClientAuth> = {}): TlsClientAuth {
  return { certPresented: '1', certVerified: 'SUCCESS', certRevoked: '0', certFingerprintSHA256: fingerprint, ...overrides }
}

const NO_CERTIFICATE: TlsClientAuth = { certPresented: '0', certVerified: 'NONE', certRevoked: '0', certFingerprintSHA256: '' }

/** 64 hex digits, different every call. */
function randomFingerprint() {
  return [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('')
}

/** AB:CD:… upper-case form of a lower-case hex fingerprint. */
function colonUpper(fingerprint: string) {
  return fingerprint.toUpperCase().match(/../g)!.join(':')
}

type Member = { id: string; email: string; password: string }

let memberCount = 0

/**
 * A member of `tenant`, created directly in D1 (there is no users API yet):
 * the admin's row copied with a new id and e-mail, role member. The member's
 * password is the admin's.
 */
async function addMember(tenant: TestTenant): Promise<Member> {
  memberCount += 1
  const id = newId('usr')
  const email = `member${memberCount}@${tenant.slug}.example`
  await env.DB.prepare(
    `INSERT INTO users (id, tenant_id, email, name, role, status, permissions, password_hash, password_changed_at,
       must_change_password, created_at, created_by, updated_at, last_login_at)
     SELECT ?, tenant_id, ?, 'Member', 'member', 'active', ?, password_hash, password_changed_at,
       0, created_at, created_by, updated_at, NULL
     FROM users WHERE id = ?`,
  )
    .bind(id, email, JSON.stringify(['records:read', 'records:write', 'files:read', 'files:write']), tenant.adminId)
    .run()
  return { id, email, password: tenant.adminPassword }
}

type AuditRow = {
  actor_type: string
  actor_id: string | null
  action: string
  target_type: string | null
  target_id: string | null
  request_id: string | null
  ip: string | null
  outcome: string
  details: Record<string, unknown>
}

/** The tenant's audit events of one action, oldest first. */
async function events(tenantId: string, action: string): Promise<AuditRow[]> {
  const rows = await env.DB.prepare(
    `SELECT actor_type, actor_id, action, target_type, target_id, request_id, ip, outcome, details
     FROM audit_events WHERE tenant_id = ? AND action = ? ORDER BY seq`,
  )
    .bind(tenantId, action)
    .all<Omit<AuditRow, 'details'> & { details: string }>()
  return rows.results.map((r) => ({ ...r, details: JSON.parse(r.details) }))
}

/** Every audit event written while handling one request. */
async function eventsOfRequest(requestId: string) {
  const rows = await env.DB.prepare('SELECT action, outcome FROM audit_events WHERE request_id = ? ORDER BY seq')
    .bind(requestId)
    .all<{ action: string; outcome: string }>()
  return rows.results
}

async function storedPolicy(tenantId: string) {
  const row = await env.DB.prepare('SELECT policy FROM tenant_policies WHERE tenant_id = ?').bind(tenantId).first<{ policy: string }>()
  return row ? JSON.parse(row.policy) : null
}

async function putPolicy(tenant: TestTenant, body: unknown, options: Omit<SendOptions, 'body' | 'token'> & { token?: string } = {}) {
  return send('PUT', '/api/v1/policy', { token: tenant.adminToken, ...options, body })
}

/** PUT /api/v1/policy that must succeed. */
async function setPolicy(tenant: TestTenant, body: unknown, options: Omit<SendOptions, 'body' | 'token'> & { token?: string } = {}) {
  const reply = await putPolicy(tenant, body, options)
  expect(reply.status, JSON.stringify(reply.body)).toBe(200)
  return reply.body
}

async function setPasswordAge(userId: string, days: number) {
  await env.DB.prepare('UPDATE users SET password_changed_at = ? WHERE id = ?')
    .bind(new Date(Date.now() - days * DAY_MS).toISOString(), userId)
    .run()
}

async function userRow(userId: string) {
  return env.DB.prepare('SELECT password_hash, password_changed_at, must_change_password, verify_email_at_sign_in FROM users WHERE id = ?')
    .bind(userId)
    .first<{ password_hash: string; password_changed_at: string; must_change_password: number; verify_email_at_sign_in: number }>()
}

function changePassword(token: string, current: string, next: string) {
  return call('POST', '/api/v1/auth/password', { token, body: { current_password: current, new_password: next } })
}

/** Runs the worker's five-minute cron, as Cloudflare would, and waits for it. */
async function runFiveMinuteCron() {
  const controller = createScheduledController({ cron: '*/5 * * * *', scheduledTime: Date.now() })
  const ctx = createExecutionContext()
  await worker.scheduled(controller, env, ctx)
  await waitOnExecutionContext(ctx)
}

async function mailsTo(address: string, subjectLike = '%') {
  const rows = await env.DB.prepare('SELECT subject, body, status FROM mail_outbox WHERE to_address = ? AND subject LIKE ? ORDER BY id')
    .bind(address, subjectLike)
    .all<{ subject: string; body: string; status: string }>()
  return rows.results
}

const DEFAULTS = {
  password_min_length: 8,
  password_max_age_days: { admin: 30, member: 90 },
  password_history: 5,
  mfa_required: { admin: false, member: false },
  ip_allowlist: { admin: [], member: [] },
  client_cert_required: { admin: false, member: false },
  session_idle_minutes: 30,
  session_absolute_hours: 12,
  sessions_per_account: 5,
}

// ---------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------

describe('GET|PUT /api/v1/policy', () => {
  let tenant: TestTenant
  let member: Member
  let memberToken: string

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    member = await addMember(tenant)
    memberToken = await signIn(tenant.slug, member.email, member.password)
  })

  it('starts from the platform defaults, with nothing stored', async () => {
    const reply = await call('GET', '/api/v1/policy', { token: tenant.adminToken })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual(DEFAULTS)
    expect(await storedPolicy(tenant.id)).toBeNull()
  })

  it('refuses members with 403 on GET and on PUT, and stores nothing', async () => {
    expectProblem(await call('GET', '/api/v1/policy', { token: memberToken }), 403, 'forbidden')
    expectProblem(await call('PUT', '/api/v1/policy', { token: memberToken, body: { password_min_length: 12 } }), 403, 'forbidden')
    expect(await storedPolicy(tenant.id)).toBeNull()
  })

  it('merges a partial update into the current policy, nested role objects field by field', async () => {
    const first = await setPolicy(tenant, { password_max_age_days: { member: 60 } })
    expect(first).toEqual({ ...DEFAULTS, password_max_age_days: { admin: 30, member: 60 } })
    const second = await setPolicy(tenant, { session_idle_minutes: 15, mfa_required: { member: true } })
    const expected = {
      ...DEFAULTS,
      password_max_age_days: { admin: 30, member: 60 },
      session_idle_minutes: 15,
      mfa_required: { admin: false, member: true },
    }
    expect(second).toEqual(expected)
    expect((await call('GET', '/api/v1/policy', { token: tenant.adminToken })).body).toEqual(expected)
    expect(await storedPolicy(tenant.id)).toEqual(expected)
    // Leave MFA off for members so later sign-ins in this block stay one step.
    await setPolicy(tenant, { mfa_required: { member: false } })
  })

  it('records policy.update in the audit trail with only the changed fields, from and to', async () => {
    const reply = await setPolicy(tenant, { password_min_length: 10, password_max_age_days: { admin: 20 } })
    expect(reply.password_min_length).toBe(10)
    const last = (await events(tenant.id, 'policy.update')).at(-1)!
    expect(last).toMatchObject({
      actor_type: 'user',
      actor_id: tenant.adminId,
      target_type: 'tenant',
      target_id: tenant.id,
      outcome: 'success',
    })
    expect(last.details).toEqual({
      changes: {
        password_min_length: { from: 8, to: 10 },
        password_max_age_days: { from: { admin: 30, member: 60 }, to: { admin: 20, member: 60 } },
      },
    })
  })

  it('writes no audit event when an update changes nothing', async () => {
    const before = (await events(tenant.id, 'policy.update')).length
    const current = (await call('GET', '/api/v1/policy', { token: tenant.adminToken })).body
    const reply = await setPolicy(tenant, { password_min_length: current.password_min_length })
    expect(reply).toEqual(current)
    expect((await events(tenant.id, 'policy.update')).length).toBe(before)
  })

  it.each([
    ['password_min_length', { password_min_length: 7 }, 'body.password_min_length', 'too_small', 'The platform minimum is 8 characters.'],
    [
      'password_max_age_days.admin',
      { password_max_age_days: { admin: 31 } },
      'body.password_max_age_days.admin',
      'too_big',
      'The platform requires admin passwords to change at least every 30 days.',
    ],
    [
      'password_max_age_days.member',
      { password_max_age_days: { member: 91 } },
      'body.password_max_age_days.member',
      'too_big',
      'The platform requires member passwords to change at least every 90 days.',
    ],
    ['password_history', { password_history: 4 }, 'body.password_history', 'too_small', 'The platform forbids reusing at least the last 5 passwords.'],
    [
      'session_idle_minutes',
      { session_idle_minutes: 61 },
      'body.session_idle_minutes',
      'too_big',
      'The platform ends idle sessions after at most 60 minutes.',
    ],
    [
      'session_absolute_hours',
      { session_absolute_hours: 25 },
      'body.session_absolute_hours',
      'too_big',
      'The platform ends sessions after at most 24 hours.',
    ],
    [
      'sessions_per_account',
      { sessions_per_account: 11 },
      'body.sessions_per_account',
      'too_big',
      'The platform allows at most 10 sessions per account.',
    ],
    ['sessions_per_account (zero)', { sessions_per_account: 0 }, 'body.sessions_per_account', 'too_small', 'An account needs at least one session.'],
  ])('refuses a %s looser than the platform with 422 naming the field, and stores nothing', async (_label, body, path, code, message) => {
    const policyBefore = await storedPolicy(tenant.id)
    const auditBefore = (await events(tenant.id, 'policy.update')).length
    const problem = expectProblem(await putPolicy(tenant, body), 422, 'validation')
    expect(problem.errors).toEqual([{ path, message, code }])
    expect(await storedPolicy(tenant.id)).toEqual(policyBefore)
    expect((await events(tenant.id, 'policy.update')).length).toBe(auditBefore)
  })

  it('refuses a whole update when one of its fields is looser, keeping the valid ones unsaved too', async () => {
    const policyBefore = await storedPolicy(tenant.id)
    const problem = expectProblem(await putPolicy(tenant, { password_min_length: 14, session_idle_minutes: 61 }), 422, 'validation')
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(['body.session_idle_minutes'])
    expect(await storedPolicy(tenant.id)).toEqual(policyBefore)
  })

  it.each([['not-an-ip'], ['10.0.0.0/33'], ['300.1.2.3'], ['2001:db8::/129'], ['10.0.0.0/8/8']])(
    'refuses the invalid CIDR %j with 422 at body.ip_allowlist.admin.0',
    async (cidr) => {
      const policyBefore = await storedPolicy(tenant.id)
      const problem = expectProblem(await putPolicy(tenant, { ip_allowlist: { admin: [cidr] } }), 422, 'validation')
      expect(problem.errors).toEqual([
        { path: 'body.ip_allowlist.admin.0', message: `${JSON.stringify(cidr)} is not an IPv4 or IPv6 address or CIDR range.`, code: 'custom' },
      ])
      expect(await storedPolicy(tenant.id)).toEqual(policyBefore)
    },
  )

  it('names the position of the bad entry in a longer allowlist', async () => {
    const problem = expectProblem(await putPolicy(tenant, { ip_allowlist: { member: ['10.0.0.0/8', 'bogus'] } }), 422, 'validation')
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(['body.ip_allowlist.member.1'])
  })

  it('refuses unknown fields with 422, at the top level and inside a role object', async () => {
    const top = expectProblem(await putPolicy(tenant, { password_min_lenght: 12 }), 422, 'validation')
    expect(top.errors[0].path).toBe('body')
    const nested = expectProblem(await putPolicy(tenant, { ip_allowlist: { operator: [] } }), 422, 'validation')
    expect(nested.errors[0].path).toBe('body.ip_allowlist')
  })

  it('accepts exactly the CIDRs the OpenAPI document’s pattern describes', async () => {
    const document = await (await SELF.fetch('https://mamori.test/openapi.json')).text()
    const pattern = document.match(/"pattern":"(\^ \*\(+25[^"]+)"/)?.[1]
    expect(pattern, 'the allowlist items publish their pattern').toBeDefined()
    const published = new RegExp(JSON.parse(`"${pattern}"`) as string, 'u')
    const samples = ['10.0.0.1', ' 10.0.0.0/8 ', '2001:db8::/32', '::', '::1', 'fe80::1/10', '1.2.3.4/33', '01.2.3.4', '::ffff:192.0.2.1', 'fe80::1%eth0', '2001:db8::/129', '10.0.0.0/8/8', 'localhost']
    for (const cidr of samples) {
      const reply = await putPolicy(tenant, { ip_allowlist: { member: [cidr] } })
      expect([cidr, reply.status]).toEqual([cidr, published.test(cidr) ? 200 : 422])
    }
    await setPolicy(tenant, { ip_allowlist: { member: [] } })
  })

  it('stores CIDRs in canonical form: network address, /32 and /128 for bare addresses, IPv6 compressed', async () => {
    const reply = await setPolicy(tenant, {
      ip_allowlist: {
        member: ['10.1.2.3/8', '192.0.2.7', ' 198.51.100.0/24 ', '2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:0db8:00ab:0000:0000:0000:0000:0000/32', '2001:db8:1:2:3:4:5:6/64'],
      },
    })
    const canonical = ['10.0.0.0/8', '192.0.2.7/32', '198.51.100.0/24', '2001:db8::1/128', '2001:db8::/32', '2001:db8:1:2::/64']
    expect(reply.ip_allowlist).toEqual({ admin: [], member: canonical })
    expect((await storedPolicy(tenant.id)).ip_allowlist.member).toEqual(canonical)
    await setPolicy(tenant, { ip_allowlist: { member: [] } })
  })

  it('gives new sessions the policy’s idle limit', async () => {
    await setPolicy(tenant, { session_idle_minutes: 15, session_absolute_hours: 1 })
    const before = Date.now()
    const reply = await login(tenant.slug, member.email, member.password)
    expect(reply.body.status).toBe('ok')
    const expiresAt = Date.parse(reply.body.expires_at)
    expect(expiresAt).toBeGreaterThanOrEqual(before + 15 * 60_000 - 1000)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 15 * 60_000 + 1000)
  })
})

describe('concurrent PUT /api/v1/policy', () => {
  /** The policy.update events of the tenant since `fromSeq`, oldest first. */
  async function updatesSince(tenantId: string, fromSeq: number) {
    const rows = await env.DB.prepare(
      "SELECT seq, request_id, details FROM audit_events WHERE tenant_id = ? AND action = 'policy.update' AND seq > ? ORDER BY seq",
    )
      .bind(tenantId, fromSeq)
      .all<{ seq: number; request_id: string; details: string }>()
    return rows.results.map((r) => ({ seq: r.seq, requestId: r.request_id, changes: JSON.parse(r.details).changes as Record<string, { from: unknown; to: unknown }> }))
  }

  async function headSeq(tenantId: string) {
    return (await env.DB.prepare('SELECT max(seq) AS seq FROM audit_events WHERE tenant_id = ?').bind(tenantId).first<{ seq: number }>())!.seq
  }

  /**
   * Replays the committed policy.update events from `start`: each event's
   * `from` must be exactly what the one before left, so the trail shows every
   * transition, none hidden; returns where the replay ends.
   */
  function replay(start: Record<string, unknown>, updates: { changes: Record<string, { from: unknown; to: unknown }> }[]) {
    const policy: Record<string, unknown> = structuredClone(start)
    for (const { changes } of updates) {
      for (const [field, { from, to }] of Object.entries(changes)) {
        expect(from, `the diff of ${field} must start from the committed value`).toEqual(policy[field])
        policy[field] = to
      }
    }
    return policy
  }

  // Each request changes a different field: none may be lost, whatever the interleaving.
  const edits = [
    { mfa_required: { admin: true } },
    { ip_allowlist: { member: ['192.0.2.0/24'] } },
    { password_min_length: 12 },
    { password_history: 7 },
    { session_idle_minutes: 20 },
    { client_cert_required: { member: true } },
    { password_max_age_days: { member: 45 } },
    { sessions_per_account: 3 },
  ]

  it('never loses one of two concurrent updates of different fields, and audits each transition from the committed row (5 trials)', async () => {
    for (let trial = 0; trial < 5; trial++) {
      const tenant = await tenantWithAdmin()
      const start = await headSeq(tenant.id)
      const [a, b] = await Promise.all([putPolicy(tenant, edits[0]), putPolicy(tenant, edits[1])])
      const statuses = [a.status, b.status]
      for (const reply of [a, b]) if (reply.status !== 200) expectProblem(reply, 409, 'edit-conflict')
      expect(statuses).toContain(200)
      const stored = await storedPolicy(tenant.id)
      if (a.status === 200) expect(stored.mfa_required).toEqual({ admin: true, member: false })
      if (b.status === 200) expect(stored.ip_allowlist).toEqual({ admin: [], member: ['192.0.2.0/24'] })
      const updates = await updatesSince(tenant.id, start)
      expect(updates).toHaveLength(statuses.filter((s) => s === 200).length)
      expect(replay(DEFAULTS, updates)).toEqual(stored)
    }
  })

  it('keeps every change of a burst of eight concurrent updates that answered 200, and nothing of one that answered 409', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const tenant = await tenantWithAdmin()
      const start = await headSeq(tenant.id)
      const replies = await Promise.all(edits.map((edit) => putPolicy(tenant, edit)))
      const stored = await storedPolicy(tenant.id)
      const expected: Record<string, unknown> = structuredClone(DEFAULTS)
      replies.forEach((reply, i) => {
        if (reply.status !== 200) {
          expectProblem(reply, 409, 'edit-conflict')
          return
        }
        for (const [field, value] of Object.entries(edits[i]!)) {
          expected[field] = typeof value === 'object' && !Array.isArray(value) ? { ...(expected[field] as object), ...value } : value
        }
      })
      expect(stored).toEqual(expected)
      // Every answer that said 200 showed a policy holding its own change.
      replies.forEach((reply, i) => {
        if (reply.status === 200) for (const field of Object.keys(edits[i]!)) expect(reply.body[field]).toEqual(expected[field])
      })
      const updates = await updatesSince(tenant.id, start)
      expect(updates).toHaveLength(replies.filter((r) => r.status === 200).length)
      expect(replay(DEFAULTS, updates)).toEqual(stored)
    }
  })

  it('answers 200 without a second audit event when two concurrent requests set the same value', async () => {
    const tenant = await tenantWithAdmin()
    const start = await headSeq(tenant.id)
    const replies = await Promise.all([putPolicy(tenant, { password_min_length: 14 }), putPolicy(tenant, { password_min_length: 14 })])
    expect(replies.map((r) => r.status)).toEqual([200, 200])
    expect(replies.map((r) => r.body.password_min_length)).toEqual([14, 14])
    const updates = await updatesSince(tenant.id, start)
    expect(updates.map((u) => u.changes)).toEqual([{ password_min_length: { from: 8, to: 14 } }])
  })
})

// ---------------------------------------------------------------------------
// Last-admin guard
// ---------------------------------------------------------------------------

describe('the policy never locks out the admin who changes it', () => {
  const HOME = '198.51.100.7'
  let tenant: TestTenant

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
  })

  it('refuses an admin allowlist that excludes the caller’s own address with 422 at body.ip_allowlist.admin, unsaved', async () => {
    const reply = await putPolicy(tenant, { ip_allowlist: { admin: ['10.0.0.0/8'] } }, { ip: HOME })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors).toEqual([
      {
        path: 'body.ip_allowlist.admin',
        message: `This would lock you out: Your address ${HOME} is not on the admin allowlist. Include your own access first.`,
      },
    ])
    expect(await storedPolicy(tenant.id)).toBeNull()
    expect(await events(tenant.id, 'policy.update')).toEqual([])
    // The caller is still in: nothing reached the session store.
    expect((await send('GET', '/api/v1/me', { token: tenant.adminToken, ip: HOME })).status).toBe(200)
  })

  it('refuses an admin allowlist when the caller’s address is unknown (no CF-Connecting-IP)', async () => {
    const reply = await putPolicy(tenant, { ip_allowlist: { admin: ['10.0.0.0/8'] } })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(['body.ip_allowlist.admin'])
    expect(await storedPolicy(tenant.id)).toBeNull()
  })

  it('accepts an admin allowlist that includes the caller’s address, and the caller stays in', async () => {
    const reply = await setPolicy(tenant, { ip_allowlist: { admin: ['10.0.0.0/8', '198.51.100.0/24'] } }, { ip: HOME })
    expect(reply.ip_allowlist.admin).toEqual(['10.0.0.0/8', '198.51.100.0/24'])
    expect((await storedPolicy(tenant.id)).ip_allowlist.admin).toEqual(['10.0.0.0/8', '198.51.100.0/24'])
    expect((await send('GET', '/api/v1/me', { token: tenant.adminToken, ip: HOME })).status).toBe(200)
    await setPolicy(tenant, { ip_allowlist: { admin: [] } }, { ip: HOME })
  })

  it('refuses to require client certificates for admins while the caller presents none, with 422 at body.client_cert_required.admin', async () => {
    const before = await storedPolicy(tenant.id)
    const reply = await putPolicy(tenant, { client_cert_required: { admin: true } }, { ip: HOME })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors).toEqual([
      {
        path: 'body.client_cert_required.admin',
        message: 'This would lock you out: A client certificate is required and none was presented. Include your own access first.',
      },
    ])
    expect(await storedPolicy(tenant.id)).toEqual(before)
  })

  it('lets an admin restrict members to addresses the admin is not calling from', async () => {
    const reply = await setPolicy(tenant, { ip_allowlist: { member: ['10.0.0.0/8'] }, client_cert_required: { member: true } }, { ip: HOME })
    expect(reply.ip_allowlist.member).toEqual(['10.0.0.0/8'])
    expect(reply.client_cert_required).toEqual({ admin: false, member: true })
  })
})

// ---------------------------------------------------------------------------
// IP allowlists
// ---------------------------------------------------------------------------

describe('IP allowlists', () => {
  const INSIDE = '10.1.2.3'
  const OUTSIDE = '203.0.113.9'
  let tenant: TestTenant
  let member: Member

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    member = await addMember(tenant)
  })

  describe('for members (IPv4)', () => {
    let sessionBefore: string

    beforeAll(async () => {
      // A session that exists before the rule does.
      sessionBefore = await signInFrom(tenant.slug, member.email, member.password, { ip: OUTSIDE })
      await setPolicy(tenant, { ip_allowlist: { member: ['10.0.0.0/8'] } })
    })

    it('refuses a member’s sign-in from outside with 403 source-not-allowed and audits security.source_refused', async () => {
      const reply = await login(tenant.slug, member.email, member.password, { ip: OUTSIDE })
      const problem = expectProblem(reply, 403, 'source-not-allowed')
      expect(problem.detail).toBe(`Your address ${OUTSIDE} is not on the member allowlist.`)
      expect(problem).not.toHaveProperty('token')
      const refused = (await events(tenant.id, 'security.source_refused')).at(-1)!
      expect(refused).toMatchObject({
        actor_type: 'user',
        actor_id: member.id,
        target_id: member.id,
        outcome: 'denied',
        ip: OUTSIDE,
        request_id: problem.request_id,
      })
      expect(refused.details).toEqual({ rule: 'ip', role: 'member', reason: `Your address ${OUTSIDE} is not on the member allowlist.` })
    })

    it('answers a wrong password from outside with the usual 401: a role\u2019s own rule is only revealed to someone who knows the password', async () => {
      const reply = await login(tenant.slug, member.email, 'not the password at all', { ip: OUTSIDE })
      expectProblem(reply, 401, 'invalid-credentials')
    })

    it('lets a member sign in normally from inside', async () => {
      const reply = await login(tenant.slug, member.email, member.password, { ip: INSIDE })
      expect(reply.status).toBe(200)
      expect(reply.body.status).toBe('ok')
      expect(reply.body.user.id).toBe(member.id)
    })

    it('still answers a wrong password from inside with 401 invalid-credentials', async () => {
      expectProblem(await login(tenant.slug, member.email, 'not the password at all', { ip: INSIDE }), 401, 'invalid-credentials')
    })

    it('refuses a sign-in without any client address', async () => {
      expectProblem(await login(tenant.slug, member.email, member.password), 403, 'source-not-allowed')
    })

    it('refuses a session begun before the rule on its very next request from outside, and audits it', async () => {
      const reply = await send('GET', '/api/v1/me', { token: sessionBefore, ip: OUTSIDE })
      const problem = expectProblem(reply, 403, 'source-not-allowed')
      const refused = (await events(tenant.id, 'security.source_refused')).at(-1)!
      expect(refused).toMatchObject({ actor_id: member.id, outcome: 'denied', ip: OUTSIDE, request_id: problem.request_id })
      expect(refused.details).toMatchObject({ rule: 'ip', role: 'member' })
    })

    it('refuses a session made inside as soon as it is used from outside, and lets it back in from inside', async () => {
      const token = await signInFrom(tenant.slug, member.email, member.password, { ip: INSIDE })
      expect((await send('GET', '/api/v1/me', { token, ip: INSIDE })).status).toBe(200)
      expectProblem(await send('GET', '/api/v1/me', { token, ip: OUTSIDE }), 403, 'source-not-allowed')
      expect((await send('GET', '/api/v1/me', { token, ip: INSIDE })).status).toBe(200)
    })

    it('matches an IPv4-mapped IPv6 address (::ffff:10.1.2.3) against the IPv4 range', async () => {
      await signInFrom(tenant.slug, member.email, member.password, { ip: '::ffff:10.1.2.3' })
      expectProblem(await login(tenant.slug, member.email, member.password, { ip: '::ffff:203.0.113.9' }), 403, 'source-not-allowed')
    })

    it('does not apply member rules to admins', async () => {
      const token = await signInFrom(tenant.slug, tenant.adminEmail, tenant.adminPassword, { ip: OUTSIDE })
      expect((await send('GET', '/api/v1/me', { token, ip: OUTSIDE })).status).toBe(200)
    })

    it('answers an unknown e-mail from outside with 401 while some role may still sign in from there', async () => {
      expectProblem(await login(tenant.slug, 'nobody@example.com', 'whatever-it-is', { ip: OUTSIDE }), 401, 'invalid-credentials')
    })

    it('lifts the rule for existing sessions as soon as the allowlist is emptied', async () => {
      await setPolicy(tenant, { ip_allowlist: { member: [] } })
      expect((await send('GET', '/api/v1/me', { token: sessionBefore, ip: OUTSIDE })).status).toBe(200)
    })
  })

  it('refuses a source that no role may use with 403 before the password is examined, whatever the e-mail', async () => {
    const closed = await tenantWithAdmin()
    const admin = await signInFrom(closed.slug, closed.adminEmail, closed.adminPassword, { ip: INSIDE })
    await setPolicy(closed, { ip_allowlist: { admin: ['10.0.0.0/8'], member: ['10.0.0.0/8'] } }, { ip: INSIDE, token: admin })
    for (const email of [closed.adminEmail, 'nobody@example.com']) {
      const problem = expectProblem(await login(closed.slug, email, 'not the password at all', { ip: OUTSIDE }), 403, 'source-not-allowed')
      expect(await eventsOfRequest(problem.request_id)).toEqual([{ action: 'security.source_refused', outcome: 'denied' }])
    }
  })

  describe('for admins', () => {
    let other: TestTenant
    let adminSession: string

    beforeAll(async () => {
      other = await tenantWithAdmin()
      adminSession = await signInFrom(other.slug, other.adminEmail, other.adminPassword, { ip: OUTSIDE })
      await setPolicy(other, { ip_allowlist: { admin: ['10.0.0.0/8'] } }, { ip: INSIDE, token: adminSession })
    })

    it('refuses an admin’s sign-in from outside with 403 and audits the admin role', async () => {
      const problem = expectProblem(await login(other.slug, other.adminEmail, other.adminPassword, { ip: OUTSIDE }), 403, 'source-not-allowed')
      expect(problem.detail).toBe(`Your address ${OUTSIDE} is not on the admin allowlist.`)
      expect((await events(other.id, 'security.source_refused')).at(-1)!.details).toMatchObject({ rule: 'ip', role: 'admin' })
    })

    it('refuses the admin’s live session from outside and keeps it working from inside', async () => {
      expectProblem(await send('GET', '/api/v1/policy', { token: adminSession, ip: OUTSIDE }), 403, 'source-not-allowed')
      expect((await send('GET', '/api/v1/policy', { token: adminSession, ip: INSIDE })).status).toBe(200)
    })

    it('refuses an unknown e-mail from an address no role may use, with 403 like a known one', async () => {
      await setPolicy(other, { ip_allowlist: { member: ['10.0.0.0/8'] } }, { ip: INSIDE, token: adminSession })
      expectProblem(await login(other.slug, 'nobody@example.com', 'whatever-it-is', { ip: OUTSIDE }), 403, 'source-not-allowed')
    })
  })

  describe('over IPv6', () => {
    let v6: TestTenant
    let v6member: Member

    beforeAll(async () => {
      v6 = await tenantWithAdmin()
      v6member = await addMember(v6)
    })

    it('admits addresses inside a /32 and refuses those outside it', async () => {
      await setPolicy(v6, { ip_allowlist: { member: ['2001:db8::/32'] } })
      await signInFrom(v6.slug, v6member.email, v6member.password, { ip: '2001:db8:ffff:1::42' })
      expectProblem(await login(v6.slug, v6member.email, v6member.password, { ip: '2001:db9::1' }), 403, 'source-not-allowed')
      expectProblem(await login(v6.slug, v6member.email, v6member.password, { ip: INSIDE }), 403, 'source-not-allowed')
    })

    it('admits addresses inside a /64 and refuses the neighbouring /64', async () => {
      await setPolicy(v6, { ip_allowlist: { member: ['2001:db8:1:2::/64'] } })
      const token = await signInFrom(v6.slug, v6member.email, v6member.password, { ip: '2001:db8:1:2:abcd:ef01:2345:6789' })
      expectProblem(await login(v6.slug, v6member.email, v6member.password, { ip: '2001:db8:1:3::1' }), 403, 'source-not-allowed')
      expect((await send('GET', '/api/v1/me', { token, ip: '2001:0db8:0001:0002::1' })).status).toBe(200)
      expectProblem(await send('GET', '/api/v1/me', { token, ip: '2001:db8:1:3::1' }), 403, 'source-not-allowed')
    })

    it('does not let an IPv6 range admit an IPv4 address or the reverse', async () => {
      await setPolicy(v6, { ip_allowlist: { member: ['::/0'] } })
      expectProblem(await login(v6.slug, v6member.email, v6member.password, { ip: INSIDE }), 403, 'source-not-allowed')
      await setPolicy(v6, { ip_allowlist: { member: ['0.0.0.0/0'] } })
      expectProblem(await login(v6.slug, v6member.email, v6member.password, { ip: '2001:db8::1' }), 403, 'source-not-allowed')
      await signInFrom(v6.slug, v6member.email, v6member.password, { ip: OUTSIDE })
    })
  })
})

describe('operator allowlist (OPS_IP_ALLOWLIST)', () => {
  const rules = { OPS_IP_ALLOWLIST: ' 203.0.113.0/24 , 2001:db8::/32,' }

  it('parses the comma-separated list, ignoring blanks', () => {
    expect(operatorAllowlist(rules)).toEqual(['203.0.113.0/24', '2001:db8::/32'])
    expect(operatorAllowlist({ OPS_IP_ALLOWLIST: '' })).toEqual([])
  })

  it('admits operators from inside the list, IPv4, IPv6 and IPv4-mapped', () => {
    for (const ip of ['203.0.113.1', '2001:db8:abcd::1', '::ffff:203.0.113.200']) {
      expect(operatorSourceVerdict(rules, { ip, certificate: null })).toEqual({ ok: true })
    }
  })

  it('refuses operators from outside the list, or with no address, by the ip rule', () => {
    expect(operatorSourceVerdict(rules, { ip: '198.51.100.1', certificate: null })).toEqual({
      ok: false,
      rule: 'ip',
      detail: 'Your address 198.51.100.1 is not on the operator allowlist.',
    })
    expect(operatorSourceVerdict(rules, { ip: '2001:db9::1', certificate: null })).toMatchObject({ ok: false, rule: 'ip' })
    expect(operatorSourceVerdict(rules, { ip: null, certificate: null })).toEqual({
      ok: false,
      rule: 'ip',
      detail: 'Your address (unknown) is not on the operator allowlist.',
    })
  })

  it('admits operators from anywhere when the list is empty, as it is in this configuration', async () => {
    expect(operatorSourceVerdict({ OPS_IP_ALLOWLIST: '' }, { ip: '198.51.100.1', certificate: null })).toEqual({ ok: true })
    expect(operatorAllowlist(env)).toEqual([])
    const ops = await operator()
    expect((await send('GET', '/ops/v1/plans', { token: ops, ip: '198.51.100.1' })).status).toBe(200)
  })

  it('checks the certificate rules in order: absent, unverified, revoked, unbound', () => {
    const fp = 'ab'.repeat(32)
    const strict = { ip_allowlist: {}, client_cert_required: { admin: true } }
    const cert = { verified: 'SUCCESS', revoked: false, fingerprint: fp }
    const verdict = (certificate: typeof cert | null, bound = [fp]) => checkSource(strict, 'admin', { ip: null, certificate }, bound)
    expect(verdict(null)).toMatchObject({ ok: false, rule: 'certificate', detail: 'A client certificate is required and none was presented.' })
    expect(verdict({ ...cert, verified: 'FAILED:certificate has expired' })).toMatchObject({ detail: 'The client certificate could not be verified.' })
    expect(verdict({ ...cert, revoked: true })).toMatchObject({ detail: 'The client certificate has been revoked.' })
    expect(verdict(cert, [])).toMatchObject({ detail: 'The client certificate is not bound to this account.' })
    expect(verdict(cert)).toEqual({ ok: true })
    expect(checkSource(strict, 'member', { ip: null, certificate: null }, [])).toEqual({ ok: true })
  })
})

// ---------------------------------------------------------------------------
// Client certificates (SE-41)
// ---------------------------------------------------------------------------

describe('client certificates', () => {
  const FP = randomFingerprint()
  const OTHER_FP = randomFingerprint()
  let tenant: TestTenant
  let member: Member
  /** A full admin session that began with FP bound. */
  let adminToken: string

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    member = await addMember(tenant)
  })

  it('binds fingerprints sent as colon-separated upper-case hex, storing them lower-case', async () => {
    const reply = await call('PUT', `/api/v1/users/${tenant.adminId}/certificates`, {
      token: tenant.adminToken,
      body: { fingerprints: [colonUpper(FP), FP] },
    })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ fingerprints: [FP] })
    const rows = await env.DB.prepare('SELECT tenant_id, fingerprint, created_by FROM account_certificates WHERE user_id = ?')
      .bind(tenant.adminId)
      .all()
    expect(rows.results).toEqual([{ tenant_id: tenant.id, fingerprint: FP, created_by: `user:${tenant.adminId}` }])
    const audit = (await events(tenant.id, 'user.certificates_replaced')).at(-1)!
    expect(audit).toMatchObject({ actor_id: tenant.adminId, target_id: tenant.adminId, outcome: 'success' })
    expect(audit.details).toEqual({ fingerprints: [FP] })
  })

  it('ended the bound user’s sessions, the caller’s own included', async () => {
    expectProblem(await call('GET', '/api/v1/me', { token: tenant.adminToken }), 401, 'unauthenticated')
    adminToken = await signIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
  })

  it('ends a member’s sessions when their certificates are replaced', async () => {
    const memberToken = await signIn(tenant.slug, member.email, member.password)
    const reply = await call('PUT', `/api/v1/users/${member.id}/certificates`, { token: adminToken, body: { fingerprints: [OTHER_FP] } })
    expect(reply.body).toEqual({ fingerprints: [OTHER_FP] })
    expectProblem(await call('GET', '/api/v1/me', { token: memberToken }), 401, 'unauthenticated')
    expect((await call('GET', '/api/v1/me', { token: adminToken })).status).toBe(200)
  })

  it('lists the fingerprints bound to an account', async () => {
    const reply = await call('GET', `/api/v1/users/${tenant.adminId}/certificates`, { token: adminToken })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ fingerprints: [FP] })
  })

  it.each([['not-hex-at-all'], ['ab'.repeat(31)], ['zz'.repeat(32)]])('refuses the fingerprint %j with 422 at body.fingerprints.0', async (fp) => {
    const reply = await call('PUT', `/api/v1/users/${member.id}/certificates`, { token: adminToken, body: { fingerprints: [fp] } })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(['body.fingerprints.0'])
    expect((await call('GET', `/api/v1/users/${member.id}/certificates`, { token: adminToken })).body).toEqual({ fingerprints: [OTHER_FP] })
  })

  it('answers 404 for another tenant’s user, exactly as for a missing or malformed id, and binds nothing', async () => {
    const stranger = await tenantWithAdmin()
    const missing = 'usr_0000000000000000000000000z'
    for (const id of [stranger.adminId, missing, 'nonsense']) {
      const listed = expectProblem(await call('GET', `/api/v1/users/${id}/certificates`, { token: adminToken }), 404, 'not-found')
      expect(listed.detail).toBe(`No user with id ${JSON.stringify(id)}.`)
      expectProblem(
        await call('PUT', `/api/v1/users/${id}/certificates`, { token: adminToken, body: { fingerprints: [OTHER_FP] } }),
        404,
        'not-found',
      )
    }
    const rows = await env.DB.prepare('SELECT count(*) AS n FROM account_certificates WHERE user_id = ?').bind(stranger.adminId).first<{ n: number }>()
    expect(rows!.n).toBe(0)
    expect((await call('GET', '/api/v1/me', { token: stranger.adminToken })).status).toBe(200)
  })

  it('refuses members with 403 on both certificate routes', async () => {
    const memberToken = await signIn(tenant.slug, member.email, member.password)
    expectProblem(await call('GET', `/api/v1/users/${member.id}/certificates`, { token: memberToken }), 403, 'forbidden')
    expectProblem(
      await call('PUT', `/api/v1/users/${member.id}/certificates`, { token: memberToken, body: { fingerprints: [] } }),
      403,
      'forbidden',
    )
  })

  it('lets an admin presenting a bound, verified certificate require certificates for admins', async () => {
    const reply = await setPolicy(tenant, { client_cert_required: { admin: true } }, { token: adminToken, tls: certificate(FP) })
    expect(reply.client_cert_required).toEqual({ admin: true, member: false })
  })

  describe('when admins must present one', () => {
    /** A session that signed in with the bound certificate. */
    let certSession: string

    beforeAll(async () => {
      certSession = await signInFrom(tenant.slug, tenant.adminEmail, tenant.adminPassword, { tls: certificate(FP) })
    })

    const refusals: [string, TlsClientAuth | undefined, string][] = [
      ['no certificate at all (no tlsClientAuth)', undefined, 'A client certificate is required and none was presented.'],
      ['certPresented 0', NO_CERTIFICATE, 'A client certificate is required and none was presented.'],
      ['a certificate that failed verification', certificate(FP, { certVerified: 'FAILED:certificate has expired' }), 'The client certificate could not be verified.'],
      ['a certificate verified as NONE', certificate(FP, { certVerified: 'NONE' }), 'The client certificate could not be verified.'],
      ['a revoked certificate', certificate(FP, { certRevoked: '1' }), 'The client certificate has been revoked.'],
      ['a verified certificate not bound to the account', certificate(OTHER_FP), 'The client certificate is not bound to this account.'],
    ]

    it.each(refusals)('refuses sign-in with %s: 403 source-not-allowed, audited', async (_label, tls, detail) => {
      const problem = expectProblem(await login(tenant.slug, tenant.adminEmail, tenant.adminPassword, { tls }), 403, 'source-not-allowed')
      expect(problem.detail).toBe(detail)
      const refused = (await events(tenant.id, 'security.source_refused')).at(-1)!
      expect(refused).toMatchObject({ actor_id: tenant.adminId, outcome: 'denied', request_id: problem.request_id })
      expect(refused.details).toEqual({ rule: 'certificate', role: 'admin', reason: detail })
    })

    it('signs in with the bound, verified certificate', async () => {
      const reply = await login(tenant.slug, tenant.adminEmail, tenant.adminPassword, { tls: certificate(FP) })
      expect(reply.status).toBe(200)
      expect(reply.body.status).toBe('ok')
    })

    it('accepts the bound fingerprint whatever case Cloudflare reports it in', async () => {
      await signInFrom(tenant.slug, tenant.adminEmail, tenant.adminPassword, { tls: certificate(FP.toUpperCase()) })
    })

    it.each(refusals)('refuses a live session presenting %s: 403 source-not-allowed, audited', async (_label, tls, detail) => {
      const problem = expectProblem(await send('GET', '/api/v1/me', { token: certSession, tls }), 403, 'source-not-allowed')
      expect(problem.detail).toBe(detail)
      const refused = (await events(tenant.id, 'security.source_refused')).at(-1)!
      expect(refused).toMatchObject({ actor_id: tenant.adminId, request_id: problem.request_id })
      expect(refused.details).toMatchObject({ rule: 'certificate', role: 'admin' })
    })

    it('serves a live session presenting the bound, verified certificate', async () => {
      const reply = await send('GET', '/api/v1/me', { token: certSession, tls: certificate(FP) })
      expect(reply.status).toBe(200)
      expect(reply.body.user.id).toBe(tenant.adminId)
    })

    it('answers a wrong admin password without a certificate with the usual 401, so the admin\u2019s rule does not reveal the admin', async () => {
      expectProblem(await login(tenant.slug, tenant.adminEmail, 'not the password at all'), 401, 'invalid-credentials')
    })

    it('does not ask members for a certificate', async () => {
      const token = await signInFrom(tenant.slug, member.email, member.password)
      expect((await send('GET', '/api/v1/me', { token })).status).toBe(200)
    })

    it('refuses to unbind the certificate the admin is using right now, with 422 at body.fingerprints', async () => {
      const session = await signInFrom(tenant.slug, tenant.adminEmail, tenant.adminPassword, { tls: certificate(FP) })
      const before = await send('GET', `/api/v1/users/${tenant.adminId}/certificates`, { token: session, tls: certificate(FP) })
      const problem = expectProblem(
        await send('PUT', `/api/v1/users/${tenant.adminId}/certificates`, { token: session, tls: certificate(FP), body: { fingerprints: [OTHER_FP] } }),
        422,
        'validation',
      )
      expect(problem.errors[0].path).toBe('body.fingerprints')
      const after = await send('GET', `/api/v1/users/${tenant.adminId}/certificates`, { token: session, tls: certificate(FP) })
      expect(after.body).toEqual(before.body)
    })

    it('ends the admin’s sessions when the bindings change, and the next sign-in accepts the new set', async () => {
      const admin2 = await signInFrom(tenant.slug, tenant.adminEmail, tenant.adminPassword, { tls: certificate(FP) })
      // Rebinding to the same set keeps the binding but still ends every session of the account.
      const rebound = await send('PUT', `/api/v1/users/${tenant.adminId}/certificates`, {
        token: admin2,
        tls: certificate(FP),
        body: { fingerprints: [FP, OTHER_FP] },
      })
      expect(rebound.status).toBe(200)
      expectProblem(await send('GET', '/api/v1/me', { token: certSession, tls: certificate(FP) }), 401, 'unauthenticated')
      await signInFrom(tenant.slug, tenant.adminEmail, tenant.adminPassword, { tls: certificate(OTHER_FP) })
    })
  })
})

// ---------------------------------------------------------------------------
// Password rules
// ---------------------------------------------------------------------------

describe('new password rules', () => {
  let tenant: TestTenant
  let token: string

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    token = await signIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
  })

  async function expectRefused(newPassword: string, message: string | RegExp) {
    const before = await userRow(tenant.adminId)
    const problem = expectProblem(await changePassword(token, tenant.adminPassword, newPassword), 422, 'validation')
    expect(problem.errors).toHaveLength(1)
    expect(problem.errors[0].path).toBe('body.new_password')
    if (typeof message === 'string') expect(problem.errors[0].message).toBe(message)
    else expect(problem.errors[0].message).toMatch(message)
    expect(problem.detail).toBe(problem.errors[0].message)
    expect(await userRow(tenant.adminId)).toEqual(before)
    return problem.errors[0].message as string
  }

  it.each([['password123'], ['qwertyuiop'], ['Password2026!'], ['aaaaaaaaaaaa']])(
    'refuses the guessable password %j with 422 and a message a person understands',
    async (guessable) => {
      const message = await expectRefused(guessable, /^This password is too easy to guess\. .+/)
      expect(message).not.toMatch(/zxcvbn|score|entropy/i)
    },
  )

  it('refuses a password containing the e-mail address’s local part, whatever the case', async () => {
    await expectRefused('ADMIN-quiet-river-lantern', 'Do not use your e-mail address, or the name in it, in your password.')
  })

  it('refuses a password containing the tenant’s slug, naming it', async () => {
    await expectRefused(`Quiet-${tenant.slug.toUpperCase()}-Lantern`, `Do not use your organisation\u2019s ID (${tenant.slug}) in your password.`)
  })

  it('refuses the current password as the new one', async () => {
    await expectRefused(tenant.adminPassword, 'You used this password recently. Choose one that differs from your last 5 passwords.')
  })

  it('takes the minimum length from the policy: at 12, a strong 10-character password gets 422', async () => {
    await setPolicy(tenant, { password_min_length: 12 }, { token })
    await expectRefused('Vq8#mZ2!pL', 'Use at least 12 characters.')
    const ok = await changePassword(token, tenant.adminPassword, 'Vq8#mZ2!pL-wx')
    expect(ok.status).toBe(200)
    tenant.adminPassword = 'Vq8#mZ2!pL-wx'
  })
})

describe('password history', () => {
  let tenant: TestTenant
  let token: string
  /** passwords[0] is the oldest, passwords[5] the current one. */
  const passwords: string[] = []

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    token = await signIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
    passwords.push(tenant.adminPassword)
    for (let i = 1; i <= 5; i++) {
      const next = strongPassword()
      const reply = await changePassword(token, passwords[i - 1]!, next)
      expect(reply.status).toBe(200)
      passwords.push(next)
    }
  }, 60_000)

  it('keeps earlier hashes in password_history, never the passwords themselves', async () => {
    const rows = await env.DB.prepare('SELECT password_hash FROM password_history WHERE account_id = ?').bind(tenant.adminId).all<{ password_hash: string }>()
    // The temporary password, then passwords[0..4].
    expect(rows.results).toHaveLength(6)
    for (const row of rows.results) {
      expect(row.password_hash).toMatch(/^scrypt\$/)
      for (const p of passwords) expect(row.password_hash).not.toContain(p)
    }
  })

  it.each([[1], [2], [3], [4]])('refuses the password from %i changes ago (one of the last 5)', async (ago) => {
    const problem = expectProblem(await changePassword(token, passwords[5]!, passwords[5 - ago]!), 422, 'validation')
    expect(problem.errors).toEqual([
      { path: 'body.new_password', message: 'You used this password recently. Choose one that differs from your last 5 passwords.' },
    ])
  })

  it('refuses the 6th-old password too when the policy remembers 6', async () => {
    await setPolicy(tenant, { password_history: 6 }, { token })
    const problem = expectProblem(await changePassword(token, passwords[5]!, passwords[0]!), 422, 'validation')
    expect(problem.errors[0].message).toBe('You used this password recently. Choose one that differs from your last 6 passwords.')
    await setPolicy(tenant, { password_history: 5 }, { token })
  })

  it('allows the 6th-old password again under the platform default of 5', async () => {
    const reply = await changePassword(token, passwords[5]!, passwords[0]!)
    expect(reply.status).toBe(200)
    await signIn(tenant.slug, tenant.adminEmail, passwords[0]!)
  })
})

// ---------------------------------------------------------------------------
// Expiry and reminders
// ---------------------------------------------------------------------------

describe('password expiry', () => {
  it('makes an admin whose password is 31 days old change it at sign-in, audited as auth.password_expired', async () => {
    const tenant = await tenantWithAdmin()
    await setPasswordAge(tenant.adminId, 31)
    const changedAt = (await userRow(tenant.adminId))!.password_changed_at
    const reply = await call('POST', '/api/v1/auth/login', {
      body: { tenant: tenant.slug, email: tenant.adminEmail, password: tenant.adminPassword },
    })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ status: 'password_change_required', token: expect.any(String), expires_at: expect.any(String) })
    const expired = await events(tenant.id, 'auth.password_expired')
    expect(expired).toHaveLength(1)
    expect(expired[0]).toMatchObject({ actor_id: tenant.adminId, target_id: tenant.adminId, outcome: 'denied' })
    expect(expired[0]!.details).toEqual({ password_changed_at: changedAt, max_age_days: 30 })
    expect((await events(tenant.id, 'auth.login')).at(-1)!.details).toMatchObject({ password_change_required: 'expired' })
    // The session can only change the password.
    expectProblem(await call('GET', '/api/v1/me', { token: reply.body.token }), 403, 'password-change-required')
    const next = strongPassword()
    const changed = await changePassword(reply.body.token, tenant.adminPassword, next)
    expect(changed.status).toBe(200)
    // The password-change-only token ends; the answer carries the new full session's token.
    expectProblem(await call('GET', '/api/v1/me', { token: reply.body.token }), 401, 'unauthenticated')
    expect((await call('GET', '/api/v1/me', { token: changed.body.token })).status).toBe(200)
    await signIn(tenant.slug, tenant.adminEmail, next)
  })

  it('does not expire an admin’s password at 29 days', async () => {
    const tenant = await tenantWithAdmin()
    await setPasswordAge(tenant.adminId, 29)
    await signIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
    expect(await events(tenant.id, 'auth.password_expired')).toEqual([])
  })

  it('expires a member’s password after 90 days, not at 89', async () => {
    const tenant = await tenantWithAdmin()
    const member = await addMember(tenant)
    await setPasswordAge(member.id, 89)
    await signIn(tenant.slug, member.email, member.password)
    await setPasswordAge(member.id, 91)
    const reply = await call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: member.email, password: member.password } })
    expect(reply.body.status).toBe('password_change_required')
    expect((await events(tenant.id, 'auth.password_expired')).at(-1)!.details).toMatchObject({ max_age_days: 90 })
  })

  it('uses the policy’s shorter ages for both roles', async () => {
    const tenant = await tenantWithAdmin()
    const member = await addMember(tenant)
    await setPolicy(tenant, { password_max_age_days: { admin: 10, member: 60 } })
    await setPasswordAge(member.id, 61)
    await setPasswordAge(tenant.adminId, 11)
    const memberLogin = await call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: member.email, password: member.password } })
    expect(memberLogin.body.status).toBe('password_change_required')
    const adminLogin = await call('POST', '/api/v1/auth/login', {
      body: { tenant: tenant.slug, email: tenant.adminEmail, password: tenant.adminPassword },
    })
    expect(adminLogin.body.status).toBe('password_change_required')
    expect((await events(tenant.id, 'auth.password_expired')).map((e) => e.details.max_age_days)).toEqual([60, 10])
  })
})

describe('password expiry reminders (five-minute cron)', () => {
  const SEVEN = '【Mamori】パスワードの有効期限まであと 7 日です'
  const ONE = '【Mamori】パスワードの有効期限まであと 1 日です'

  it('queues one “expires in 7 days” mail for an admin at 24 days, and nothing more on the next run', async () => {
    const tenant = await tenantWithAdmin()
    await setPasswordAge(tenant.adminId, 24)
    await runFiveMinuteCron()
    const mails = await mailsTo(tenant.adminEmail, '【Mamori】パスワードの有効期限%')
    expect(mails).toHaveLength(1)
    expect(mails[0]!.subject).toBe(SEVEN)
    expect(mails[0]!.body).toContain('30 日ごとの変更が必要です')
    expect(mails[0]!.status).toBe('sent')
    const audited = await events(tenant.id, 'auth.password_expiry_reminder')
    expect(audited).toHaveLength(1)
    expect(audited[0]).toMatchObject({ actor_type: 'system', actor_id: 'password-reminders', target_id: tenant.adminId, outcome: 'success' })
    expect(audited[0]!.details).toMatchObject({ days_left: 7 })
    await runFiveMinuteCron()
    expect(await mailsTo(tenant.adminEmail, '【Mamori】パスワードの有効期限%')).toHaveLength(1)
    expect(await events(tenant.id, 'auth.password_expiry_reminder')).toHaveLength(1)
  })

  it('queues the 1-day reminder once at 29.5 days', async () => {
    const tenant = await tenantWithAdmin()
    await setPasswordAge(tenant.adminId, 29.5)
    await runFiveMinuteCron()
    await runFiveMinuteCron()
    const mails = await mailsTo(tenant.adminEmail, '【Mamori】パスワードの有効期限%')
    expect(mails.map((m) => m.subject)).toEqual([ONE])
  })

  it('sends nothing for a password with more than 7 days left, or one already expired', async () => {
    const fresh = await tenantWithAdmin()
    const expired = await tenantWithAdmin()
    await setPasswordAge(fresh.adminId, 22)
    await setPasswordAge(expired.adminId, 31)
    await runFiveMinuteCron()
    expect(await mailsTo(fresh.adminEmail, '【Mamori】パスワードの有効期限%')).toEqual([])
    expect(await mailsTo(expired.adminEmail, '【Mamori】パスワードの有効期限%')).toEqual([])
  })

  it('reminds members by their own age: 7 days before 90 by default, before the policy’s value when set', async () => {
    const tenant = await tenantWithAdmin()
    const byDefault = await addMember(tenant)
    await setPasswordAge(byDefault.id, 84)
    const other = await tenantWithAdmin()
    await setPolicy(other, { password_max_age_days: { member: 60 } })
    const byPolicy = await addMember(other)
    await setPasswordAge(byPolicy.id, 54)
    await runFiveMinuteCron()
    expect((await mailsTo(byDefault.email, '【Mamori】パスワードの有効期限%')).map((m) => m.subject)).toEqual([SEVEN])
    const policyMails = await mailsTo(byPolicy.email, '【Mamori】パスワードの有効期限%')
    expect(policyMails.map((m) => m.subject)).toEqual([SEVEN])
    expect(policyMails[0]!.body).toContain('60 日ごとの変更が必要です')
  })
})

// ---------------------------------------------------------------------------
// Forced resets (SE-14)
// ---------------------------------------------------------------------------

describe('forced password reset by a tenant admin', () => {
  let tenant: TestTenant
  let member: Member
  let memberSessions: string[]
  let reset: Reply
  let historyBefore: number

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    member = await addMember(tenant)
    memberSessions = [await signIn(tenant.slug, member.email, member.password), await signIn(tenant.slug, member.email, member.password)]
    historyBefore = (await env.DB.prepare('SELECT count(*) AS n FROM password_history WHERE account_id = ?').bind(member.id).first<{ n: number }>())!.n
    reset = await call('POST', `/api/v1/users/${member.id}/reset-password`, { token: tenant.adminToken })
  })

  it('answers 200 with a 20-character temporary password and the number of sessions ended, not cached', () => {
    expect(reset.status).toBe(200)
    expect(reset.body).toEqual({ temporary_password: expect.stringMatching(/^[A-Za-z0-9]{20}$/), sessions_revoked: 2 })
    expect(reset.headers.get('Cache-Control')).toBe('no-store')
  })

  it('stores a new hash that must be changed, and remembers the old one', async () => {
    const row = await userRow(member.id)
    expect(row!.must_change_password).toBe(1)
    expect(row!.password_hash).not.toContain(reset.body.temporary_password)
    const history = await env.DB.prepare('SELECT count(*) AS n FROM password_history WHERE account_id = ?').bind(member.id).first<{ n: number }>()
    expect(history!.n).toBe(historyBefore + 1)
  })

  it('kills the old password: 401 invalid-credentials', async () => {
    expectProblem(await call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: member.email, password: member.password } }), 401, 'invalid-credentials')
  })

  it('ends every session of the user: 401 on the next request', async () => {
    for (const token of memberSessions) expectProblem(await call('GET', '/api/v1/me', { token }), 401, 'unauthenticated')
  })

  it('leaves the admin’s own session alone', async () => {
    expect((await call('GET', '/api/v1/me', { token: tenant.adminToken })).status).toBe(200)
  })

  it('mails the user that the password was reset, without the temporary password', async () => {
    const mail = await lastMail(member.email)
    expect(mail!.subject).toBe('【Mamori】パスワードがリセットされました')
    expect(mail!.body).toContain('に管理者によりリセットされました')
    expect(mail!.body).not.toContain(reset.body.temporary_password)
  })

  it('records auth.password_reset with the admin as actor and the user as target', async () => {
    const audited = await events(tenant.id, 'auth.password_reset')
    expect(audited).toHaveLength(1)
    expect(audited[0]).toMatchObject({
      actor_type: 'user',
      actor_id: tenant.adminId,
      target_type: 'user',
      target_id: member.id,
      outcome: 'success',
      request_id: reset.headers.get('X-Request-Id'),
    })
    expect(audited[0]!.details).toEqual({ role: 'member' })
    expect(JSON.stringify(audited)).not.toContain(reset.body.temporary_password)
  })

  it('lets the temporary password sign in only to change it', async () => {
    const first = await call('POST', '/api/v1/auth/login', {
      body: { tenant: tenant.slug, email: member.email, password: reset.body.temporary_password },
    })
    expect(first.status).toBe(200)
    expect(first.body.status).toBe('password_change_required')
    expectProblem(await call('GET', '/api/v1/me', { token: first.body.token }), 403, 'password-change-required')
    const next = strongPassword()
    expect((await changePassword(first.body.token, reset.body.temporary_password, next)).status).toBe(200)
    await signIn(tenant.slug, member.email, next)
    expect((await userRow(member.id))!.must_change_password).toBe(0)
  })

  it('refuses a member calling it with 403, and resets nothing', async () => {
    const other = await addMember(tenant)
    const otherToken = await signIn(tenant.slug, other.email, other.password)
    const before = await userRow(tenant.adminId)
    expectProblem(await call('POST', `/api/v1/users/${tenant.adminId}/reset-password`, { token: otherToken }), 403, 'forbidden')
    expect(await userRow(tenant.adminId)).toEqual(before)
  })

  it('answers 404 for another tenant’s user exactly as for a missing one, and leaves that user alone', async () => {
    const stranger = await tenantWithAdmin()
    const before = await userRow(stranger.adminId)
    const foreign = expectProblem(await call('POST', `/api/v1/users/${stranger.adminId}/reset-password`, { token: tenant.adminToken }), 404, 'not-found')
    const missingId = 'usr_0000000000000000000000000z'
    const missing = expectProblem(await call('POST', `/api/v1/users/${missingId}/reset-password`, { token: tenant.adminToken }), 404, 'not-found')
    expect(foreign.detail).toBe(`No user with id ${JSON.stringify(stranger.adminId)}.`)
    expect(missing.detail).toBe(`No user with id ${JSON.stringify(missingId)}.`)
    expectProblem(await call('POST', '/api/v1/users/nonsense/reset-password', { token: tenant.adminToken }), 404, 'not-found')
    expect(await userRow(stranger.adminId)).toEqual(before)
    expect((await call('GET', '/api/v1/me', { token: stranger.adminToken })).status).toBe(200)
    expect(await events(stranger.id, 'auth.password_reset')).toEqual([])
  })
})

describe('forced password reset by an operator', () => {
  let tenant: TestTenant
  let member: Member

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    member = await addMember(tenant)
  })

  it('resets a tenant admin: temporary password, old one dead, sessions ended, mail, audit', async () => {
    const ops = await operator()
    const reply = await call('POST', `/ops/v1/tenants/${tenant.id}/users/${tenant.adminId}/reset-password`, { token: ops })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ temporary_password: expect.stringMatching(/^[A-Za-z0-9]{20}$/), sessions_revoked: 1 })
    expectProblem(await call('GET', '/api/v1/me', { token: tenant.adminToken }), 401, 'unauthenticated')
    expectProblem(
      await call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: tenant.adminEmail, password: tenant.adminPassword } }),
      401,
      'invalid-credentials',
    )
    const resetMail = await lastMail(tenant.adminEmail)
    expect(resetMail!.subject).toBe('【Mamori】パスワードがリセットされました')
    expect(resetMail!.body).toContain('にサービス運用者によりリセットされました')
    // The operator saw the temporary password: it only works with a code mailed to the admin (SE-26).
    const first = await call('POST', '/api/v1/auth/login', {
      body: { tenant: tenant.slug, email: tenant.adminEmail, password: reply.body.temporary_password },
    })
    expect(first.body).toEqual({ status: 'mfa_required', challenge: expect.any(String), methods: ['email'] })
    const second = await call('POST', '/api/v1/auth/mfa', { body: { challenge: first.body.challenge, code: await lastCode(tenant.adminEmail) } })
    expect(second.body.status).toBe('password_change_required')
    expect((await userRow(tenant.adminId))!.verify_email_at_sign_in).toBe(0)
    const audited = (await events(tenant.id, 'auth.password_reset')).at(-1)!
    expect(audited).toMatchObject({ actor_type: 'operator', target_id: tenant.adminId, outcome: 'success' })
    expect(audited.details).toEqual({ role: 'admin' })
  })

  it('answers 404 for a member of the tenant, and leaves the member’s password alone', async () => {
    const ops = await operator()
    const before = await userRow(member.id)
    const problem = expectProblem(await call('POST', `/ops/v1/tenants/${tenant.id}/users/${member.id}/reset-password`, { token: ops }), 404, 'not-found')
    expect(problem.detail).toBe(`No user with id ${JSON.stringify(member.id)}.`)
    expect(await userRow(member.id)).toEqual(before)
    await signIn(tenant.slug, member.email, member.password)
  })

  it('answers 404 for an admin named under another tenant’s id, or an unknown tenant', async () => {
    const ops = await operator()
    const other = await tenantWithAdmin()
    const before = await userRow(other.adminId)
    expectProblem(await call('POST', `/ops/v1/tenants/${tenant.id}/users/${other.adminId}/reset-password`, { token: ops }), 404, 'not-found')
    expectProblem(
      await call('POST', `/ops/v1/tenants/tn_00000000000000000000000000/users/${other.adminId}/reset-password`, { token: ops }),
      404,
      'not-found',
    )
    expect(await userRow(other.adminId)).toEqual(before)
  })

  it('refuses a tenant admin’s token on the operator route with 401', async () => {
    const other = await tenantWithAdmin()
    expectProblem(
      await call('POST', `/ops/v1/tenants/${other.id}/users/${other.adminId}/reset-password`, { token: other.adminToken }),
      401,
      'unauthenticated',
    )
  })
})
