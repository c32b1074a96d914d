import { SELF, env } from 'cloudflare:test'
import * as OTPAuth from 'otpauth'
import { describe, expect, it } from 'vitest'
import { ORIGIN, call, expectProblem, lastMail, operator, parseCsv, signIn, snapshotCounts, tenantWithAdmin, userOf, type Reply, type TestTenant, type TestUser } from './helpers'
import { DETECTORS } from '../src/services/alerts/detectors'

/**
 * Accounts (SE-7, SE-8, SE-12, SE-17, SE-18, EX-3): the users API, least
 * privilege, the last-admin guard, seats, the account ledger, session
 * administration, and the access rule every route declares (the plan's
 * concurrent-session limit is in sessions.test.ts). Storage is per file,
 * so every test makes its own tenant.
 */

/** What each role gets by default, sorted as the API returns it. */
const MEMBER_DEFAULTS = ['files:read', 'files:write', 'records:read', 'records:write']
const ADMIN_DEFAULTS = ['audit:read', 'files:read', 'files:write', 'records:read', 'records:write']

/** What each permission allows, in the plain words the ledger shows. */
const ALLOWS: Record<string, string> = {
  'records:read': 'Read the tenant\u2019s records.',
  'records:write': 'Create, change and delete records.',
  'files:read': 'List files and read their metadata.',
  'files:write': 'Upload and delete files.',
  download: 'Download file contents (audited as a data extraction).',
  export: 'Export the tenant\u2019s whole data set (audited as a data extraction).',
  'audit:read': 'Read and export the tenant\u2019s audit log.',
}

const WELL_FORMED_MISSING_USER = 'usr_00000000000000000000000000'
const WELL_FORMED_MISSING_SESSION = 'ses_00000000000000000000000000'

type AuditRow = {
  actor_type: string
  actor_id: string | null
  action: string
  category: string
  target_type: string | null
  target_id: string | null
  outcome: string
  details: any
}

/** A tenant's audit events of one action, oldest first. */
async function eventsOf(tenantId: string, action: string): Promise<AuditRow[]> {
  const rows = await env.DB.prepare(
    `SELECT actor_type, actor_id, action, category, target_type, target_id, outcome, details
       FROM audit_events WHERE chain = ? AND action = ? ORDER BY seq`,
  )
    .bind(tenantId, action)
    .all<Omit<AuditRow, 'details'> & { details: string }>()
  return rows.results.map((r) => ({ ...r, details: JSON.parse(r.details) }))
}

async function count(sql: string, ...params: unknown[]): Promise<number> {
  return (await env.DB.prepare(`SELECT count(*) AS n FROM (${sql})`).bind(...params).first<{ n: number }>())!.n
}

type UserRowInDb = {
  id: string
  tenant_id: string
  email: string
  name: string
  role: string
  status: string
  permissions: string
  must_change_password: number
  updated_at: string
}

async function userRow(id: string) {
  return env.DB.prepare('SELECT id, tenant_id, email, name, role, status, permissions, must_change_password, updated_at FROM users WHERE id = ?')
    .bind(id)
    .first<UserRowInDb>()
}

function emailIn(t: TestTenant, label: string) {
  return `${label}-${crypto.randomUUID().slice(0, 8)}@${t.slug}.example`
}

function createUser(t: TestTenant, body: Record<string, unknown>, token = t.adminToken) {
  return call('POST', '/api/v1/users', { token, body })
}

function patchUser(t: TestTenant, id: string, body: Record<string, unknown>, token = t.adminToken) {
  return call('PATCH', `/api/v1/users/${id}`, { token, body })
}

/** Creates `n` member accounts through the API (no sign-in) and returns their ids. */
async function createMembers(t: TestTenant, n: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < n; i++) {
    const reply = await createUser(t, { email: emailIn(t, `seat${i}`), name: `Seat ${i}`, role: 'member' })
    expect(reply.status).toBe(201)
    ids.push(reply.body.id)
  }
  return ids
}

/** The session id behind a token. */
async function sessionIdOf(token: string): Promise<string> {
  const me = await call('GET', '/api/v1/me', { token })
  expect(me.status).toBe(200)
  return me.body.session.id
}

function login(t: TestTenant, email: string, password: string, headers?: Record<string, string>) {
  return call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email, password }, ...(headers ? { headers } : {}) })
}

async function expectDead(token: string) {
  expectProblem(await call('GET', '/api/v1/me', { token }), 401, 'unauthenticated')
}

/** Uploads a small file as `token` and returns its id. */
async function upload(token: string, name: string, content: string): Promise<string> {
  const reply = await call('PUT', `/api/v1/files/${name}`, {
    token,
    raw: content,
    headers: { 'Content-Type': 'text/plain', 'Content-Length': String(new TextEncoder().encode(content).length) },
  })
  expect(reply.status).toBe(201)
  return reply.body.id
}

/** The ledger's CSV as raw bytes (Response.text() would swallow the byte order mark). */
async function ledgerCsv(token: string) {
  const res = await SELF.fetch(`${ORIGIN}/api/v1/ledger?format=csv`, { headers: { Authorization: `Bearer ${token}` } })
  const bytes = new Uint8Array(await res.arrayBuffer())
  return { status: res.status, headers: res.headers, bytes, text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) }
}

const STEP_MS = 30_000

/** Enrols TOTP for an account, confirming with the previous step's code; leaves a factor and 10 recovery codes. */
async function enrolTotp(user: TestUser) {
  const started = await call('POST', '/api/v1/me/mfa/totp', { token: user.token, body: { current_password: user.password } })
  expect(started.status).toBe(200)
  const totp = OTPAuth.URI.parse(started.body.uri) as OTPAuth.TOTP
  const into = Date.now() % STEP_MS
  if (into > STEP_MS - 4_000) await new Promise((resolve) => setTimeout(resolve, STEP_MS - into + 250))
  const confirmed = await call('POST', '/api/v1/me/mfa/totp/confirm', {
    token: user.token,
    body: { code: totp.generate({ timestamp: Date.now() - STEP_MS }) },
  })
  expect(confirmed.status).toBe(200)
  expect(confirmed.body.recovery_codes).toHaveLength(10)
}

/** 403s counted against the tenant's sessions by the permission-failure detector (SE-28). */
async function refusalsCounted(tenantId: string) {
  const row = await env.DB.prepare("SELECT sum(count) AS n FROM alert_counters WHERE tenant_id = ? AND key LIKE 'forbidden:%'").bind(tenantId).first<{ n: number }>()
  return row!.n
}

describe('users: admins only', () => {
  it('answers a member 403 forbidden on every /api/v1/users route and changes nothing', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const before = await snapshotCounts()
    const adminBefore = await userRow(t.adminId)
    const attempts: [string, string, unknown?][] = [
      ['GET', '/api/v1/users'],
      ['POST', '/api/v1/users', { email: emailIn(t, 'sneaky'), name: 'Sneaky', role: 'admin' }],
      ['GET', `/api/v1/users/${t.adminId}`],
      ['PATCH', `/api/v1/users/${t.adminId}`, { status: 'disabled' }],
      ['PATCH', `/api/v1/users/${member.id}`, { role: 'admin' }],
      ['DELETE', `/api/v1/users/${t.adminId}`],
      ['POST', `/api/v1/users/${t.adminId}/reset-password`],
      ['GET', `/api/v1/users/${t.adminId}/certificates`],
      ['PUT', `/api/v1/users/${t.adminId}/certificates`, { fingerprints: [] }],
    ]
    for (const [method, path, body] of attempts) {
      const reply = await call(method, path, { token: member.token, ...(body !== undefined ? { body } : {}) })
      expect(expectProblem(reply, 403, 'forbidden').detail, `${method} ${path}`).toBe('Only admins may do this.')
    }
    // Only the session's permission-failure counter (one row) moved: the intrusion detector's bookkeeping.
    expect(await snapshotCounts()).toEqual({ ...before, alert_counters: before.alert_counters! + 1 })
    expect(await refusalsCounted(t.id)).toBe(attempts.length)
    expect(await userRow(t.adminId)).toEqual(adminBefore)
    expect((await userRow(member.id))!.role).toBe('member')
  })
})

describe('users: create', () => {
  it('creates an account with a 20-character temporary password that must be changed at first sign-in', async () => {
    const t = await tenantWithAdmin()
    const email = emailIn(t, 'hanako')
    const reply = await createUser(t, { email, name: 'Hanako Suzuki', role: 'member' })
    expect(reply.status).toBe(201)
    expect(reply.headers.get('Cache-Control')).toBe('no-store')
    expect(reply.body).toEqual({
      id: expect.stringMatching(/^usr_[0-9a-z]{26}$/),
      tenant_id: t.id,
      email,
      name: 'Hanako Suzuki',
      role: 'member',
      status: 'active',
      permissions: MEMBER_DEFAULTS,
      must_change_password: true,
      password_changed_at: expect.any(String),
      created_at: expect.any(String),
      created_by: `user:${t.adminId}`,
      last_login_at: null,
      language: null,
      temporary_password: expect.stringMatching(/^[A-Za-z0-9]{20}$/),
    })
    const first = await login(t, email, reply.body.temporary_password)
    expect(first.status).toBe(200)
    expect(first.body.status).toBe('password_change_required')
    expect(await userRow(reply.body.id)).toMatchObject({ email, role: 'member', status: 'active', must_change_password: 1 })
  })

  it('mails the new account holder, without the temporary password', async () => {
    const t = await tenantWithAdmin()
    const email = emailIn(t, 'mailed')
    const reply = await createUser(t, { email, name: 'Mailed', role: 'member' })
    expect(reply.status).toBe(201)
    const mail = await lastMail(email)
    expect(mail?.subject).toBe('【Mamori】アカウント作成のお知らせ')
    expect(mail?.body).toContain(email)
    expect(mail?.body).not.toContain(reply.body.temporary_password)
  })

  it('audits the creation as user.create by the admin, without the password', async () => {
    const t = await tenantWithAdmin()
    const email = emailIn(t, 'audited')
    const reply = await createUser(t, { email, name: 'Audited', role: 'member' })
    expect(reply.status).toBe(201)
    expect(await eventsOf(t.id, 'user.create')).toEqual([
      {
        actor_type: 'user',
        actor_id: t.adminId,
        action: 'user.create',
        category: 'administration',
        target_type: 'user',
        target_id: reply.body.id,
        outcome: 'success',
        details: { email, role: 'member', permissions: MEMBER_DEFAULTS },
      },
    ])
    expect(await count('SELECT id FROM audit_events WHERE details LIKE ?', `%${reply.body.temporary_password}%`)).toBe(0)
  })

  it('stores the e-mail in lower case, and the person signs in with any case', async () => {
    const t = await tenantWithAdmin()
    const local = `Mixed.Case-${crypto.randomUUID().slice(0, 6)}`
    const reply = await createUser(t, { email: `${local}@${t.slug.toUpperCase()}.Example`, name: 'Mixed', role: 'member' })
    expect(reply.status).toBe(201)
    const normal = `${local.toLowerCase()}@${t.slug}.example`
    expect(reply.body.email).toBe(normal)
    expect((await userRow(reply.body.id))!.email).toBe(normal)
    const first = await login(t, normal.toUpperCase(), reply.body.temporary_password)
    expect(first.body.status).toBe('password_change_required')
  })

  it('drops spaces around an e-mail before storing it', async () => {
    const t = await tenantWithAdmin()
    const email = emailIn(t, 'spaced')
    const reply = await createUser(t, { email: `  ${email}  `, name: 'Spaced', role: 'member' })
    expect(reply.status).toBe(201)
    expect((await userRow(reply.body.id))!.email).toBe(email)
  })

  it('refuses an e-mail already used in the tenant, whatever its case, with 409 email-taken and stores nothing', async () => {
    const t = await tenantWithAdmin()
    const email = emailIn(t, 'dup')
    expect((await createUser(t, { email, name: 'First', role: 'member' })).status).toBe(201)
    const before = await snapshotCounts()
    const mails = await count('SELECT id FROM mail_outbox')
    const again = await createUser(t, { email: email.toUpperCase(), name: 'Second', role: 'admin' })
    expect(expectProblem(again, 409, 'email-taken').detail).toBe(`An account with the e-mail ${email} already exists in this tenant.`)
    expect(await snapshotCounts()).toEqual(before)
    expect(await count('SELECT id FROM mail_outbox')).toBe(mails)
    expect(await count('SELECT id FROM users WHERE tenant_id = ? AND email = ?', t.id, email)).toBe(1)
    // The tenant admin's own address is taken too.
    expectProblem(await createUser(t, { email: t.adminEmail, name: 'Copy', role: 'member' }), 409, 'email-taken')
  })

  it('accepts the same e-mail in another tenant (accounts are per tenant)', async () => {
    const a = await tenantWithAdmin()
    const b = await tenantWithAdmin()
    const email = `shared-${crypto.randomUUID().slice(0, 8)}@example.com`
    const inA = await createUser(a, { email, name: 'In A', role: 'member' })
    const inB = await createUser(b, { email, name: 'In B', role: 'admin' })
    expect([inA.status, inB.status]).toEqual([201, 201])
    expect(inA.body.id).not.toBe(inB.body.id)
    expect(await count('SELECT id FROM users WHERE email = ?', email)).toBe(2)
    expect((await userRow(inA.body.id))!.tenant_id).toBe(a.id)
    expect((await userRow(inB.body.id))!.tenant_id).toBe(b.id)
  })
})

describe('users: least privilege (SE-18)', () => {
  it('gives a member exactly records:read, records:write, files:read and files:write', async () => {
    const t = await tenantWithAdmin()
    const reply = await createUser(t, { email: emailIn(t, 'm'), name: 'M', role: 'member' })
    expect(reply.body.permissions).toEqual(MEMBER_DEFAULTS)
    expect(JSON.parse((await userRow(reply.body.id))!.permissions)).toEqual(MEMBER_DEFAULTS)
  })

  it('gives an admin the member defaults plus audit:read, and never download or export', async () => {
    const t = await tenantWithAdmin()
    const reply = await createUser(t, { email: emailIn(t, 'a'), name: 'A', role: 'admin' })
    expect(reply.body.permissions).toEqual(ADMIN_DEFAULTS)
    expect(reply.body.permissions).not.toContain('download')
    expect(reply.body.permissions).not.toContain('export')
    // The tenant's first admin, made by the operator, gets the same set (stored in role order, not sorted).
    expect(JSON.parse((await userRow(t.adminId))!.permissions).sort()).toEqual(ADMIN_DEFAULTS)
  })

  it('grants download and export at creation only when they are asked for explicitly', async () => {
    const t = await tenantWithAdmin()
    const reply = await createUser(t, {
      email: emailIn(t, 'granted'),
      name: 'Granted',
      role: 'member',
      permissions: ['records:read', 'export', 'download'],
    })
    expect(reply.status).toBe(201)
    expect(reply.body.permissions).toEqual(['download', 'export', 'records:read'])
    expect(JSON.parse((await userRow(reply.body.id))!.permissions)).toEqual(['download', 'export', 'records:read'])
  })

  it('grants download to an existing account by PATCH, auditing the change', async () => {
    const t = await tenantWithAdmin()
    const created = await createUser(t, { email: emailIn(t, 'later'), name: 'Later', role: 'member' })
    const patched = await patchUser(t, created.body.id, { permissions: [...MEMBER_DEFAULTS, 'download'] })
    expect(patched.status).toBe(200)
    expect(patched.body.permissions).toEqual(['download', ...MEMBER_DEFAULTS])
    expect(JSON.parse((await userRow(created.body.id))!.permissions)).toEqual(['download', ...MEMBER_DEFAULTS])
    expect((await eventsOf(t.id, 'user.update')).map((e) => e.details)).toEqual([
      { changes: { permissions: { from: MEMBER_DEFAULTS, to: ['download', ...MEMBER_DEFAULTS] } } },
    ])
  })

  it('refuses an unknown permission with 422 and stores nothing', async () => {
    const t = await tenantWithAdmin()
    const before = await snapshotCounts()
    const email = emailIn(t, 'bad')
    const reply = await createUser(t, { email, name: 'Bad', role: 'member', permissions: ['records:read', 'root'] })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(['body.permissions.1'])
    expect(await snapshotCounts()).toEqual(before)
    expect(await lastMail(email)).toBeNull()
    const existing = await createUser(t, { email: emailIn(t, 'ok'), name: 'Ok', role: 'member' })
    expectProblem(await patchUser(t, existing.body.id, { permissions: ['superuser'] }), 422, 'validation')
    expect(JSON.parse((await userRow(existing.body.id))!.permissions)).toEqual(MEMBER_DEFAULTS)
  })

  it('refuses a permission listed twice with 422 and stores nothing', async () => {
    const t = await tenantWithAdmin()
    const before = await snapshotCounts()
    const reply = await createUser(t, { email: emailIn(t, 'twice'), name: 'Twice', role: 'member', permissions: ['download', 'download'] })
    expect(expectProblem(reply, 422, 'validation').errors).toEqual([
      { path: 'body.permissions', message: 'List each permission once.', code: 'custom' },
    ])
    expect(await snapshotCounts()).toEqual(before)
    const existing = await createUser(t, { email: emailIn(t, 'ok'), name: 'Ok', role: 'member' })
    expectProblem(await patchUser(t, existing.body.id, { permissions: ['files:read', 'files:read'] }), 422, 'validation')
    expect(JSON.parse((await userRow(existing.body.id))!.permissions)).toEqual(MEMBER_DEFAULTS)
  })

  it('refuses a role other than admin or member with 422', async () => {
    const t = await tenantWithAdmin()
    const before = await snapshotCounts()
    const reply = await createUser(t, { email: emailIn(t, 'owner'), name: 'Owner', role: 'owner' })
    expect(expectProblem(reply, 422, 'validation').errors.map((e: { path: string }) => e.path)).toEqual(['body.role'])
    expect(await snapshotCounts()).toEqual(before)
  })
})

describe('users: list, read and change', () => {
  it('lists the tenant\u2019s accounts newest first, limit per page, with a cursor to the next', async () => {
    const t = await tenantWithAdmin()
    const ids = await createMembers(t, 3)
    const first = await call('GET', '/api/v1/users?limit=2', { token: t.adminToken })
    expect(first.status).toBe(200)
    expect(first.body.items.map((u: { id: string }) => u.id)).toEqual([ids[2], ids[1]])
    expect(first.body.next_cursor).toEqual(expect.any(String))
    const second = await call('GET', `/api/v1/users?limit=2&cursor=${encodeURIComponent(first.body.next_cursor)}`, { token: t.adminToken })
    expect(second.status).toBe(200)
    expect(second.body.items.map((u: { id: string }) => u.id)).toEqual([ids[0], t.adminId])
    expect(second.body.next_cursor).toBeNull()
    const all = await call('GET', '/api/v1/users', { token: t.adminToken })
    expect(all.body.items).toHaveLength(4)
    expect(JSON.stringify(all.body)).not.toContain('password_hash')
    expect(all.body.items.every((u: { tenant_id: string }) => u.tenant_id === t.id)).toBe(true)
  })

  it('answers 422 for a cursor the API never issued', async () => {
    const t = await tenantWithAdmin()
    expectProblem(await call('GET', '/api/v1/users?cursor=not-a-cursor', { token: t.adminToken }), 422, 'validation')
    expectProblem(await call('GET', '/api/v1/users?limit=201', { token: t.adminToken }), 422, 'validation')
  })

  it('reads one account without any secret', async () => {
    const t = await tenantWithAdmin()
    const created = await createUser(t, { email: emailIn(t, 'one'), name: 'One', role: 'member' })
    const { temporary_password: _secret, ...expected } = created.body
    const reply = await call('GET', `/api/v1/users/${created.body.id}`, { token: t.adminToken })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual(expected)
  })

  it('answers 404 for an unknown id and for another tenant\u2019s account, changing nothing there', async () => {
    const a = await tenantWithAdmin()
    const b = await tenantWithAdmin()
    const before = await userRow(b.adminId)
    for (const id of [WELL_FORMED_MISSING_USER, 'nonsense', b.adminId]) {
      expectProblem(await call('GET', `/api/v1/users/${id}`, { token: a.adminToken }), 404, 'not-found')
      expectProblem(await patchUser(a, id, { status: 'disabled' }), 404, 'not-found')
      expectProblem(await call('DELETE', `/api/v1/users/${id}`, { token: a.adminToken }), 404, 'not-found')
    }
    expect(await userRow(b.adminId)).toEqual(before)
    expect((await call('GET', '/api/v1/me', { token: b.adminToken })).status).toBe(200)
  })

  it('changes the name and audits it as user.update with from and to', async () => {
    const t = await tenantWithAdmin()
    const created = await createUser(t, { email: emailIn(t, 'rename'), name: 'Old Name', role: 'member' })
    const reply = await patchUser(t, created.body.id, { name: 'New Name' })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ id: created.body.id, name: 'New Name', role: 'member', status: 'active', permissions: MEMBER_DEFAULTS })
    expect((await userRow(created.body.id))!.name).toBe('New Name')
    expect(await eventsOf(t.id, 'user.update')).toEqual([
      {
        actor_type: 'user',
        actor_id: t.adminId,
        action: 'user.update',
        category: 'administration',
        target_type: 'user',
        target_id: created.body.id,
        outcome: 'success',
        details: { changes: { name: { from: 'Old Name', to: 'New Name' } } },
      },
    ])
  })

  it('records nothing when a patch changes nothing', async () => {
    const t = await tenantWithAdmin()
    const created = await createUser(t, { email: emailIn(t, 'same'), name: 'Same', role: 'member' })
    const before = await snapshotCounts()
    const reply = await patchUser(t, created.body.id, { name: 'Same', role: 'member', status: 'active' })
    expect(reply.status).toBe(200)
    expect(await snapshotCounts()).toEqual(before)
    expect(await eventsOf(t.id, 'user.update')).toEqual([])
  })

  it('answers 422 for an empty patch or an unknown field', async () => {
    const t = await tenantWithAdmin()
    const created = await createUser(t, { email: emailIn(t, 'empty'), name: 'Empty', role: 'member' })
    expectProblem(await patchUser(t, created.body.id, {}), 422, 'validation')
    expectProblem(await patchUser(t, created.body.id, { email: 'other@example.com' }), 422, 'validation')
    expect(await eventsOf(t.id, 'user.update')).toEqual([])
  })

  it('promoting a member to admin gives the admin defaults and keeps explicit download and export grants', async () => {
    const t = await tenantWithAdmin()
    const created = await createUser(t, {
      email: emailIn(t, 'promo'),
      name: 'Promo',
      role: 'member',
      permissions: [...MEMBER_DEFAULTS, 'download', 'export'],
    })
    const reply = await patchUser(t, created.body.id, { role: 'admin' })
    expect(reply.status).toBe(200)
    const expected = ['audit:read', 'download', 'export', 'files:read', 'files:write', 'records:read', 'records:write']
    expect(reply.body).toMatchObject({ role: 'admin', permissions: expected })
    expect(JSON.parse((await userRow(created.body.id))!.permissions)).toEqual(expected)
    expect((await eventsOf(t.id, 'user.update')).map((e) => e.details)).toEqual([
      {
        changes: {
          role: { from: 'member', to: 'admin' },
          permissions: { from: ['download', 'export', ...MEMBER_DEFAULTS], to: expected },
        },
      },
    ])
  })

  it('promoting a member without explicit grants gives exactly the admin defaults', async () => {
    const t = await tenantWithAdmin()
    const created = await createUser(t, { email: emailIn(t, 'plain'), name: 'Plain', role: 'member' })
    const reply = await patchUser(t, created.body.id, { role: 'admin' })
    expect(reply.body.permissions).toEqual(ADMIN_DEFAULTS)
  })

  it('a demotion reaches the live session at once: admin routes and audit:read are gone', async () => {
    const t = await tenantWithAdmin()
    const second = await userOf(t, 'admin')
    expect((await call('GET', '/api/v1/users', { token: second.token })).status).toBe(200)
    expect((await call('GET', '/api/v1/audit', { token: second.token })).status).toBe(200)
    const reply = await patchUser(t, second.id, { role: 'member' })
    expect(reply.body).toMatchObject({ role: 'member', permissions: MEMBER_DEFAULTS })
    expectProblem(await call('GET', '/api/v1/users', { token: second.token }), 403, 'forbidden')
    expectProblem(await call('GET', '/api/v1/audit', { token: second.token }), 403, 'forbidden')
    expect((await call('GET', '/api/v1/me', { token: second.token })).status).toBe(200)
  })
})

describe('users: the last active admin', () => {
  async function expectUnchanged(t: TestTenant, act: () => Promise<Reply>) {
    const before = await snapshotCounts()
    const row = await userRow(t.adminId)
    const problem = expectProblem(await act(), 409, 'last-admin')
    expect(problem.detail).toBe('This is the tenant\u2019s last active admin. Make another account an active admin first.')
    expect(await snapshotCounts()).toEqual(before)
    expect(await userRow(t.adminId)).toEqual(row)
    expect((await call('GET', '/api/v1/users', { token: t.adminToken })).status).toBe(200)
  }

  it('refuses to demote the only active admin with 409 last-admin, changing nothing', async () => {
    const t = await tenantWithAdmin()
    await createMembers(t, 1)
    await expectUnchanged(t, () => patchUser(t, t.adminId, { role: 'member' }))
  })

  it('refuses to disable the only active admin with 409 last-admin, changing nothing', async () => {
    const t = await tenantWithAdmin()
    await expectUnchanged(t, () => patchUser(t, t.adminId, { status: 'disabled' }))
  })

  it('refuses to delete the only active admin with 409 last-admin, changing nothing', async () => {
    const t = await tenantWithAdmin()
    await expectUnchanged(t, () => call('DELETE', `/api/v1/users/${t.adminId}`, { token: t.adminToken }))
  })

  it('does not count a disabled admin as a second admin', async () => {
    const t = await tenantWithAdmin()
    const other = await createUser(t, { email: emailIn(t, 'off'), name: 'Off', role: 'admin' })
    expect((await patchUser(t, other.body.id, { status: 'disabled' })).status).toBe(200)
    await expectUnchanged(t, () => patchUser(t, t.adminId, { role: 'member' }))
  })

  it('lets an admin be demoted once a second active admin exists', async () => {
    const t = await tenantWithAdmin()
    const second = await userOf(t, 'admin')
    const reply = await patchUser(t, t.adminId, { role: 'member' }, second.token)
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ role: 'member', permissions: MEMBER_DEFAULTS })
    expect((await userRow(t.adminId))!.role).toBe('member')
    // Now the second is the last one.
    expectProblem(await patchUser(t, second.id, { status: 'disabled' }, second.token), 409, 'last-admin')
  })

  it('lets an admin be disabled once a second active admin exists', async () => {
    const t = await tenantWithAdmin()
    const second = await userOf(t, 'admin')
    const reply = await patchUser(t, t.adminId, { status: 'disabled' }, second.token)
    expect(reply.status).toBe(200)
    expect((await userRow(t.adminId))!.status).toBe('disabled')
  })

  it('lets an admin be deleted once a second active admin exists', async () => {
    const t = await tenantWithAdmin()
    const second = await userOf(t, 'admin')
    expect((await call('DELETE', `/api/v1/users/${t.adminId}`, { token: second.token })).status).toBe(204)
    expect(await userRow(t.adminId)).toBeNull()
    expectProblem(await call('DELETE', `/api/v1/users/${second.id}`, { token: second.token }), 409, 'last-admin')
  })
})

describe('users: disable and delete', () => {
  it('disabling ends the account\u2019s sessions at once, and sign-in then answers 403 account-disabled', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const other = await signIn(t.slug, member.email, member.password)
    const reply = await patchUser(t, member.id, { status: 'disabled' })
    expect(reply.status).toBe(200)
    expect(reply.body.status).toBe('disabled')
    await expectDead(member.token)
    await expectDead(other)
    expectProblem(await login(t, member.email, member.password), 403, 'account-disabled')
    // A wrong password still gets the one anonymous answer.
    expectProblem(await login(t, member.email, 'not the password at all'), 401, 'invalid-credentials')
    const denied = (await eventsOf(t.id, 'auth.login')).filter((e) => e.outcome === 'denied')
    expect(denied).toEqual([expect.objectContaining({ actor_id: member.id, details: { reason: 'account_disabled' } })])
    expect((await eventsOf(t.id, 'user.update')).map((e) => e.details)).toEqual([{ changes: { status: { from: 'active', to: 'disabled' } } }])
  })

  it('re-enabling lets the account sign in again', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    expect((await patchUser(t, member.id, { status: 'disabled' })).status).toBe(200)
    const reply = await patchUser(t, member.id, { status: 'active' })
    expect(reply.status).toBe(200)
    expect(reply.body.status).toBe('active')
    const token = await signIn(t.slug, member.email, member.password)
    expect((await call('GET', '/api/v1/me', { token })).status).toBe(200)
    await expectDead(member.token)
  })

  it('leaves a disabled account no live session, even from a sign-in racing with the disable', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const [signInReply, disabled] = await Promise.all([
      login(t, member.email, member.password),
      patchUser(t, member.id, { status: 'disabled' }),
    ])
    expect(disabled.status).toBe(200)
    expect((await userRow(member.id))!.status).toBe('disabled')
    if (signInReply.status === 200) {
      // The sign-in won the race; its session must have ended with the disable.
      expectProblem(await call('GET', '/api/v1/records', { token: signInReply.body.token }), 401, 'unauthenticated')
    } else {
      expectProblem(signInReply, 403, 'account-disabled')
    }
    const sessions = await call('GET', '/api/v1/sessions', { token: t.adminToken })
    expect(sessions.body.items.filter((s: { user_id: string }) => s.user_id === member.id)).toEqual([])
  })

  it('leaves no live session to a sign-in with the old password racing a forced reset', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const [signInReply, reset] = await Promise.all([
      login(t, member.email, member.password),
      call('POST', `/api/v1/users/${member.id}/reset-password`, { token: t.adminToken }),
    ])
    expect(reset.status).toBe(200)
    if (signInReply.status === 200) expectProblem(await call('GET', '/api/v1/records', { token: signInReply.body.token }), 401, 'unauthenticated')
    else expectProblem(signInReply, 401, 'invalid-credentials')
    const sessions = await call('GET', '/api/v1/sessions', { token: t.adminToken })
    expect(sessions.body.items.filter((s: { user_id: string }) => s.user_id === member.id)).toEqual([])
  })

  it('leaves no live session to a sign-in racing a tenant suspension', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const [signInReply, suspended] = await Promise.all([
      login(t, member.email, member.password),
      call('PATCH', `/ops/v1/tenants/${t.id}`, { token: await operator(), body: { status: 'suspended' } }),
    ])
    expect(suspended.status).toBe(200)
    if (signInReply.status === 200) expectProblem(await call('GET', '/api/v1/records', { token: signInReply.body.token }), 401, 'unauthenticated')
    else expectProblem(signInReply, 403, 'tenant-suspended')
  })

  it('deleting removes the row, its second factors, recovery codes and password history, and ends its sessions', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    await enrolTotp(member)
    const other = await userOf(t)
    const rowsOf = async (id: string) => ({
      users: await count('SELECT id FROM users WHERE id = ?', id),
      mfa_factors: await count('SELECT id FROM mfa_factors WHERE account_id = ?', id),
      recovery_codes: await count('SELECT id FROM recovery_codes WHERE account_id = ?', id),
      password_history: await count('SELECT id FROM password_history WHERE account_id = ?', id),
    })
    expect(await rowsOf(member.id)).toEqual({ users: 1, mfa_factors: 1, recovery_codes: 10, password_history: 1 })
    const otherBefore = await rowsOf(other.id)
    const reply = await call('DELETE', `/api/v1/users/${member.id}`, { token: t.adminToken })
    expect(reply.status).toBe(204)
    expect(reply.body).toBe('')
    expect(await rowsOf(member.id)).toEqual({ users: 0, mfa_factors: 0, recovery_codes: 0, password_history: 0 })
    expect(await rowsOf(other.id)).toEqual(otherBefore)
    await expectDead(member.token)
    expect((await call('GET', '/api/v1/me', { token: other.token })).status).toBe(200)
    expectProblem(await login(t, member.email, member.password), 401, 'invalid-credentials')
    expectProblem(await call('GET', `/api/v1/users/${member.id}`, { token: t.adminToken }), 404, 'not-found')
  })

  it('deleting keeps the account\u2019s audit events, still naming its id, and audits user.delete', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const own = await count('SELECT id FROM audit_events WHERE actor_id = ?', member.id)
    expect(own).toBeGreaterThanOrEqual(2) // its sign-in and its password change
    expect((await call('DELETE', `/api/v1/users/${member.id}`, { token: t.adminToken })).status).toBe(204)
    expect(await count('SELECT id FROM audit_events WHERE actor_id = ?', member.id)).toBe(own)
    expect((await eventsOf(t.id, 'user.create')).map((e) => e.target_id)).toEqual([member.id])
    expect(await eventsOf(t.id, 'user.delete')).toEqual([
      {
        actor_type: 'user',
        actor_id: t.adminId,
        action: 'user.delete',
        category: 'administration',
        target_type: 'user',
        target_id: member.id,
        outcome: 'success',
        details: { email: member.email, role: 'member' },
      },
    ])
    const verify = await call('GET', '/api/v1/audit/verify', { token: t.adminToken })
    expect(verify.status).toBe(200)
    expect(verify.body.ok).toBe(true)
  })

  it('a deleted e-mail address can be given to a new account', async () => {
    const t = await tenantWithAdmin()
    const created = await createUser(t, { email: emailIn(t, 'reuse'), name: 'Reuse', role: 'member' })
    expect((await call('DELETE', `/api/v1/users/${created.body.id}`, { token: t.adminToken })).status).toBe(204)
    const again = await createUser(t, { email: created.body.email, name: 'Reuse 2', role: 'member' })
    expect(again.status).toBe(201)
    expect(again.body.id).not.toBe(created.body.id)
  })
})

describe('permission changes reach live sessions (SE-8)', () => {
  it('a member\u2019s live session may download right after the admin grants download, without signing in again', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const fileId = await upload(member.token, 'report.txt', 'quarterly numbers')
    const refused = expectProblem(await call('GET', `/api/v1/files/${fileId}`, { token: member.token }), 403, 'forbidden')
    expect(refused.detail).toBe('This needs the permission "download", which your account does not have.')
    const granted = await patchUser(t, member.id, { permissions: [...MEMBER_DEFAULTS, 'download'] })
    expect(granted.status).toBe(200)
    const download = await call('GET', `/api/v1/files/${fileId}`, { token: member.token })
    expect(download.status).toBe(200)
    expect(download.body).toBe('quarterly numbers')
    const extractions = await eventsOf(t.id, 'file.download')
    expect(extractions).toEqual([expect.objectContaining({ actor_id: member.id, category: 'data_extraction', outcome: 'success' })])
  })

  it('withdrawing download reaches the live session at once', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t, 'member', [...MEMBER_DEFAULTS, 'download'])
    const fileId = await upload(member.token, 'notes.txt', 'notes')
    expect((await call('GET', `/api/v1/files/${fileId}`, { token: member.token })).status).toBe(200)
    expect((await patchUser(t, member.id, { permissions: MEMBER_DEFAULTS })).status).toBe(200)
    expectProblem(await call('GET', `/api/v1/files/${fileId}`, { token: member.token }), 403, 'forbidden')
  })
})

describe('seats (EX-3)', () => {
  it('refuses the 6th active account on the free plan with 409 seat-limit-reached, storing and mailing nothing', async () => {
    const t = await tenantWithAdmin('free')
    await createMembers(t, 4)
    expect(await count("SELECT id FROM users WHERE tenant_id = ? AND status = 'active'", t.id)).toBe(5)
    const before = await snapshotCounts()
    const mails = await count('SELECT id FROM mail_outbox')
    const email = emailIn(t, 'sixth')
    const reply = await createUser(t, { email, name: 'Sixth', role: 'member' })
    expect(expectProblem(reply, 409, 'seat-limit-reached').detail).toBe(
      'The free plan allows 5 active accounts and all are taken. Disable or delete one, or ask for a larger plan.',
    )
    expect(await snapshotCounts()).toEqual(before)
    expect(await count('SELECT id FROM users WHERE email = ?', email)).toBe(0)
    expect(await count('SELECT id FROM mail_outbox')).toBe(mails)
    expect(await lastMail(email)).toBeNull()
    expect(await eventsOf(t.id, 'user.create')).toHaveLength(4)
  })

  it('frees a seat when an account is disabled', async () => {
    const t = await tenantWithAdmin('free')
    const ids = await createMembers(t, 4)
    expectProblem(await createUser(t, { email: emailIn(t, 'wait'), name: 'Wait', role: 'member' }), 409, 'seat-limit-reached')
    expect((await patchUser(t, ids[0]!, { status: 'disabled' })).status).toBe(200)
    const reply = await createUser(t, { email: emailIn(t, 'now'), name: 'Now', role: 'member' })
    expect(reply.status).toBe(201)
    expect(await count("SELECT id FROM users WHERE tenant_id = ? AND status = 'active'", t.id)).toBe(5)
    expect(await count('SELECT id FROM users WHERE tenant_id = ?', t.id)).toBe(6)
  })

  it('frees a seat when an account is deleted', async () => {
    const t = await tenantWithAdmin('free')
    const ids = await createMembers(t, 4)
    expect((await call('DELETE', `/api/v1/users/${ids[3]}`, { token: t.adminToken })).status).toBe(204)
    expect((await createUser(t, { email: emailIn(t, 'after'), name: 'After', role: 'member' })).status).toBe(201)
  })

  it('refuses to re-enable an account when every seat is taken, changing nothing', async () => {
    const t = await tenantWithAdmin('free')
    const ids = await createMembers(t, 4)
    expect((await patchUser(t, ids[0]!, { status: 'disabled' })).status).toBe(200)
    expect((await createUser(t, { email: emailIn(t, 'taker'), name: 'Taker', role: 'member' })).status).toBe(201)
    const before = await snapshotCounts()
    const row = await userRow(ids[0]!)
    expectProblem(await patchUser(t, ids[0]!, { status: 'active' }), 409, 'seat-limit-reached')
    expect(await userRow(ids[0]!)).toEqual(row)
    expect(await snapshotCounts()).toEqual(before)
    // Changing a disabled account's name needs no seat.
    expect((await patchUser(t, ids[0]!, { name: 'Still Off' })).status).toBe(200)
  })

  it('gives only one of two racing creations the last seat', async () => {
    const t = await tenantWithAdmin('free')
    await createMembers(t, 3)
    const replies = await Promise.all([
      createUser(t, { email: emailIn(t, 'race-a'), name: 'Race A', role: 'member' }),
      createUser(t, { email: emailIn(t, 'race-b'), name: 'Race B', role: 'member' }),
    ])
    expect(replies.map((r) => r.status).sort()).toEqual([201, 409])
    expect(await count("SELECT id FROM users WHERE tenant_id = ? AND status = 'active'", t.id)).toBe(5)
  })
})

describe('the account ledger (SE-18)', () => {
  it('lists every account with its permissions explained in plain words', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const granted = await createUser(t, { email: emailIn(t, 'dl'), name: 'Downloader', role: 'member', permissions: ['files:read', 'download'] })
    const reply = await call('GET', '/api/v1/ledger', { token: t.adminToken })
    expect(reply.status).toBe(200)
    expect(reply.headers.get('Cache-Control')).toBe('no-store')
    const explained = (perms: string[]) => perms.map((p) => ({ permission: p, allows: ALLOWS[p] }))
    const adminPermissions: string[] = reply.body.items[0].permissions
    expect([...adminPermissions].sort()).toEqual(ADMIN_DEFAULTS)
    expect(reply.body.items).toEqual([
      {
        id: t.adminId,
        name: 'Admin',
        email: t.adminEmail,
        role: 'admin',
        status: 'active',
        permissions: adminPermissions,
        permissions_explained: explained(adminPermissions),
        mfa: [],
        password_age_days: 0,
        password_changed_at: expect.any(String),
        last_login_at: expect.any(String),
        created_by: expect.stringMatching(/^operator:op_[0-9a-z]{26}$/),
        created_at: expect.any(String),
      },
      {
        id: member.id,
        name: 'Test member',
        email: member.email,
        role: 'member',
        status: 'active',
        permissions: MEMBER_DEFAULTS,
        permissions_explained: explained(MEMBER_DEFAULTS),
        mfa: [],
        password_age_days: 0,
        password_changed_at: expect.any(String),
        last_login_at: expect.any(String),
        created_by: `user:${t.adminId}`,
        created_at: expect.any(String),
      },
      {
        id: granted.body.id,
        name: 'Downloader',
        email: granted.body.email,
        role: 'member',
        status: 'active',
        permissions: ['download', 'files:read'],
        permissions_explained: explained(['download', 'files:read']),
        mfa: [],
        password_age_days: 0,
        password_changed_at: granted.body.password_changed_at,
        last_login_at: null,
        created_by: `user:${t.adminId}`,
        created_at: granted.body.created_at,
      },
    ])
  })

  it('explains every permission the API knows, each in its own words', async () => {
    const t = await tenantWithAdmin()
    const all = Object.keys(ALLOWS).sort()
    await createUser(t, { email: emailIn(t, 'all'), name: 'All', role: 'admin', permissions: all })
    const reply = await call('GET', '/api/v1/ledger', { token: t.adminToken })
    const entry = reply.body.items.find((i: { name: string }) => i.name === 'All')
    expect(entry.permissions_explained).toEqual(all.map((p) => ({ permission: p, allows: ALLOWS[p] })))
    expect(new Set(entry.permissions_explained.map((e: { allows: string }) => e.allows)).size).toBe(all.length)
  })

  it('shows disabled accounts, second factors and the password age in days', async () => {
    const t = await tenantWithAdmin()
    const factors = await call('POST', '/api/v1/me/mfa/email', { token: t.adminToken, body: { current_password: t.adminPassword } })
    expect(factors.body).toEqual({ methods: ['email'] })
    const created = await createUser(t, { email: emailIn(t, 'old'), name: 'Old', role: 'member' })
    await patchUser(t, created.body.id, { status: 'disabled' })
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000 - 60_000).toISOString()
    await env.DB.prepare('UPDATE users SET password_changed_at = ? WHERE id = ?').bind(tenDaysAgo, created.body.id).run()
    const reply = await call('GET', '/api/v1/ledger', { token: t.adminToken })
    const [admin, old] = reply.body.items
    expect(admin).toMatchObject({ id: t.adminId, mfa: ['email'], password_age_days: 0 })
    expect(old).toMatchObject({ id: created.body.id, status: 'disabled', mfa: [], password_age_days: 10, password_changed_at: tenDaysAgo })
  })

  it('shows only the caller\u2019s tenant (SE-7)', async () => {
    const a = await tenantWithAdmin()
    const b = await tenantWithAdmin()
    await createMembers(b, 2)
    const reply = await call('GET', '/api/v1/ledger', { token: a.adminToken })
    expect(reply.body.items.map((i: { id: string }) => i.id)).toEqual([a.adminId])
  })

  it('audits each read as ledger.read', async () => {
    const t = await tenantWithAdmin()
    await call('GET', '/api/v1/ledger', { token: t.adminToken })
    expect(await eventsOf(t.id, 'ledger.read')).toEqual([
      {
        actor_type: 'user',
        actor_id: t.adminId,
        action: 'ledger.read',
        category: 'administration',
        target_type: 'tenant',
        target_id: t.id,
        outcome: 'success',
        details: { format: 'json', accounts: 1 },
      },
    ])
  })

  it('exports UTF-8 CSV with a byte order mark, CRLF line ends, a header row and Japanese names intact', async () => {
    const t = await tenantWithAdmin()
    const yamada = await createUser(t, { email: emailIn(t, 'yamada'), name: '山田 太郎', role: 'member' })
    const csv = await ledgerCsv(t.adminToken)
    expect(csv.status).toBe(200)
    expect(csv.headers.get('Content-Type')).toBe('text/csv; charset=utf-8')
    expect(csv.headers.get('Content-Disposition')).toMatch(/^attachment; filename="account-ledger-\d{4}-\d{2}-\d{2}\.csv"$/)
    expect(csv.headers.get('Cache-Control')).toBe('no-store')
    expect([...csv.bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    expect(csv.text.startsWith('\uFEFFid,name,email,')).toBe(true)
    const body = csv.text.slice(1)
    expect(body.endsWith('\r\n')).toBe(true)
    expect(body.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/)
    const rows = parseCsv(body)
    expect(rows[0]).toEqual([
      'id',
      'name',
      'email',
      'role',
      'status',
      'permissions',
      'what the permissions allow',
      'second factors',
      'password age (days)',
      'last sign-in',
      'created by',
      'created at',
    ])
    expect(rows).toHaveLength(3)
    expect(rows[2]).toEqual([
      yamada.body.id,
      '山田 太郎',
      yamada.body.email,
      'member',
      'active',
      MEMBER_DEFAULTS.join(' '),
      MEMBER_DEFAULTS.map((p) => `${p}: ${ALLOWS[p]}`).join(' / '),
      'none',
      '0',
      'never',
      `user:${t.adminId}`,
      yamada.body.created_at,
    ])
    // The raw bytes carry the name as UTF-8, not mangled.
    expect(csv.text).toContain(`,山田 太郎,`)
  })

  it('neutralises formula cells with a leading apostrophe and doubles quotes in CSV', async () => {
    const t = await tenantWithAdmin()
    const formula = '=HYPERLINK("http://evil.example","Click")'
    await createUser(t, { email: emailIn(t, 'formula'), name: formula, role: 'member' })
    await createUser(t, { email: emailIn(t, 'plus'), name: '+81 3 1234', role: 'member' })
    await createUser(t, { email: emailIn(t, 'at'), name: '@SUM(A1)', role: 'member' })
    await createUser(t, { email: emailIn(t, 'minus'), name: '-2+3', role: 'member' })
    await createUser(t, { email: emailIn(t, 'quote'), name: 'Taro "Tiger" Sato', role: 'member' })
    const csv = await ledgerCsv(t.adminToken)
    expect(csv.text).toContain(`,"'=HYPERLINK(""http://evil.example"",""Click"")",`)
    expect(csv.text).toContain(`,"Taro ""Tiger"" Sato",`)
    const names = parseCsv(csv.text.slice(1)).slice(1).map((r) => r[1])
    expect(names).toEqual(['Admin', `'${formula}`, "'+81 3 1234", "'@SUM(A1)", "'-2+3", 'Taro "Tiger" Sato'])
    // The JSON form keeps the names as they are.
    const json = await call('GET', '/api/v1/ledger', { token: t.adminToken })
    expect(json.body.items.map((i: { name: string }) => i.name)).toContain(formula)
  })

  it('audits the CSV export as ledger.export, a data extraction', async () => {
    const t = await tenantWithAdmin()
    await ledgerCsv(t.adminToken)
    expect(await eventsOf(t.id, 'ledger.export')).toEqual([
      {
        actor_type: 'user',
        actor_id: t.adminId,
        action: 'ledger.export',
        category: 'data_extraction',
        target_type: 'tenant',
        target_id: t.id,
        outcome: 'success',
        details: { format: 'csv', accounts: 1 },
      },
    ])
    expect(await eventsOf(t.id, 'ledger.read')).toEqual([])
  })

  it('answers 422 for an unknown format and audits nothing', async () => {
    const t = await tenantWithAdmin()
    const before = await snapshotCounts()
    const problem = expectProblem(await call('GET', '/api/v1/ledger?format=xml', { token: t.adminToken }), 422, 'validation')
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(['query.format'])
    expect(await snapshotCounts()).toEqual(before)
  })

  it('answers a member 403 forbidden, in either format', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    expectProblem(await call('GET', '/api/v1/ledger', { token: member.token }), 403, 'forbidden')
    expectProblem(await call('GET', '/api/v1/ledger?format=csv', { token: member.token }), 403, 'forbidden')
    expect(await eventsOf(t.id, 'ledger.read')).toEqual([])
    expect(await eventsOf(t.id, 'ledger.export')).toEqual([])
  })
})

describe('session administration', () => {
  const FROM = { 'CF-Connecting-IP': '203.0.113.7', 'User-Agent': 'MamoriTest/1.0 (accounts)' }

  it('shows a member only their own sessions, marking the one making the request as current', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const second = await login(t, member.email, member.password, FROM)
    expect(second.status).toBe(200)
    const mine = await sessionIdOf(member.token)
    const other = await sessionIdOf(second.body.token)
    const reply = await call('GET', '/api/v1/sessions', { token: member.token })
    expect(reply.status).toBe(200)
    expect(reply.body.items).toHaveLength(2)
    expect(reply.body.items.every((s: { user_id: string }) => s.user_id === member.id)).toBe(true)
    const byId = Object.fromEntries(reply.body.items.map((s: { id: string }) => [s.id, s]))
    expect(byId[mine]).toMatchObject({ current: true, kind: 'full' })
    expect(byId[other]).toMatchObject({ current: false, kind: 'full', ip: '203.0.113.7', user_agent: FROM['User-Agent'] })
    const seenBySecond = await call('GET', '/api/v1/sessions', { token: second.body.token })
    expect(seenBySecond.body.items.filter((s: { current: boolean }) => s.current).map((s: { id: string }) => s.id)).toEqual([other])
  })

  it('shows an admin every session of the tenant with its ip and user agent', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const fromOffice = await login(t, member.email, member.password, FROM)
    const reply = await call('GET', '/api/v1/sessions', { token: t.adminToken })
    expect(reply.status).toBe(200)
    const items = reply.body.items as Array<Record<string, unknown>>
    expect(new Set(items.map((s) => s.user_id))).toEqual(new Set([t.adminId, member.id]))
    expect(items).toContainEqual({
      id: await sessionIdOf(fromOffice.body.token),
      user_id: member.id,
      kind: 'full',
      current: false,
      created_at: expect.any(String),
      last_seen_at: expect.any(String),
      expires_at: expect.any(String),
      ip: '203.0.113.7',
      user_agent: 'MamoriTest/1.0 (accounts)',
    })
    expect(items.filter((s) => s.current).map((s) => s.user_id)).toEqual([t.adminId])
    // Newest first.
    const created = items.map((s) => s.created_at as string)
    expect([...created].sort().reverse()).toEqual(created)
  })

  it('never shows or ends another tenant\u2019s sessions (SE-7)', async () => {
    const a = await tenantWithAdmin()
    const b = await tenantWithAdmin()
    const bSession = await sessionIdOf(b.adminToken)
    const listed = await call('GET', '/api/v1/sessions', { token: a.adminToken })
    expect(listed.body.items.map((s: { id: string }) => s.id)).not.toContain(bSession)
    expect(listed.body.items.every((s: { user_id: string }) => s.user_id === a.adminId)).toBe(true)
    expectProblem(await call('DELETE', `/api/v1/sessions/${bSession}`, { token: a.adminToken }), 404, 'not-found')
    expect((await call('GET', '/api/v1/me', { token: b.adminToken })).status).toBe(200)
  })

  it('answers 404 when a member tries to end someone else\u2019s session, exactly like a missing id', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const adminSession = await sessionIdOf(t.adminToken)
    const someoneElse = await call('DELETE', `/api/v1/sessions/${adminSession}`, { token: member.token })
    const missing = await call('DELETE', `/api/v1/sessions/${WELL_FORMED_MISSING_SESSION}`, { token: member.token })
    expectProblem(someoneElse, 404, 'not-found')
    expectProblem(missing, 404, 'not-found')
    const shape = (r: Reply) => ({ ...r.body, request_id: undefined, detail: String(r.body.detail).replace(/"[^"]*"/, '"…"') })
    expect(shape(someoneElse)).toEqual(shape(missing))
    expect((await call('GET', '/api/v1/me', { token: t.adminToken })).status).toBe(200)
    expect(await eventsOf(t.id, 'session.revoke')).toEqual([])
  })

  it('lets a member end their own other session, whose token is dead at once, and audits session.revoke', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const other = await signIn(t.slug, member.email, member.password)
    const otherId = await sessionIdOf(other)
    const reply = await call('DELETE', `/api/v1/sessions/${otherId}`, { token: member.token })
    expect(reply.status).toBe(204)
    await expectDead(other)
    expect((await call('GET', '/api/v1/me', { token: member.token })).status).toBe(200)
    const listed = await call('GET', '/api/v1/sessions', { token: member.token })
    expect(listed.body.items.map((s: { id: string }) => s.id)).not.toContain(otherId)
    expect(await eventsOf(t.id, 'session.revoke')).toEqual([
      {
        actor_type: 'user',
        actor_id: member.id,
        action: 'session.revoke',
        category: 'authentication',
        target_type: 'session',
        target_id: otherId,
        outcome: 'success',
        details: {},
      },
    ])
    // Ending it twice is a 404.
    expectProblem(await call('DELETE', `/api/v1/sessions/${otherId}`, { token: member.token }), 404, 'not-found')
  })

  it('lets an admin end anyone\u2019s session in the tenant', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const memberSession = await sessionIdOf(member.token)
    expect((await call('DELETE', `/api/v1/sessions/${memberSession}`, { token: t.adminToken })).status).toBe(204)
    await expectDead(member.token)
    expect(await eventsOf(t.id, 'session.revoke')).toEqual([
      expect.objectContaining({ actor_id: t.adminId, target_type: 'session', target_id: memberSession, outcome: 'success' }),
    ])
  })

  it('answers 404 for a malformed session id', async () => {
    const t = await tenantWithAdmin()
    expectProblem(await call('DELETE', '/api/v1/sessions/not-a-session', { token: t.adminToken }), 404, 'not-found')
  })
})

describe('session list paging', () => {
  it('pages through the tenant\u2019s sessions newest first, without repeats or gaps', async () => {
    const t = await tenantWithAdmin()
    for (let i = 0; i < 4; i++) await signIn(t.slug, t.adminEmail, t.adminPassword)
    const all = (await call('GET', '/api/v1/sessions?limit=200', { token: t.adminToken })).body
    expect(all.next_cursor).toBeNull()
    const ids = all.items.map((s: { id: string }) => s.id)
    expect(ids).toEqual([...ids].sort().reverse())
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const reply: { body: { items: { id: string }[]; next_cursor: string | null } } = await call(
        'GET',
        `/api/v1/sessions?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: t.adminToken },
      )
      seen.push(...reply.body.items.map((s) => s.id))
      cursor = reply.body.next_cursor
    } while (cursor)
    expect(seen).toEqual(ids)
    expectProblem(await call('GET', '/api/v1/sessions?limit=0', { token: t.adminToken }), 422, 'validation')
  })
})

describe('access declarations (SE-8)', () => {
  type Operation = { method: string; path: string; op: any }

  async function operations(): Promise<Operation[]> {
    const spec = (await call('GET', '/openapi.json')).body
    return Object.entries(spec.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
    )
  }

  const ADMIN_ONLY = /^\/api\/v1\/(users|policy|ledger|support-access)(\/|$)/

  it('declares x-access on every operation, each public, bootstrap, operator, or tenant with a known permission or role', async () => {
    const ops = await operations()
    expect(ops.length).toBeGreaterThan(40)
    for (const { method, path, op } of ops) {
      const where = `${method} ${path}`
      const access = op['x-access']
      expect(access, where).toBeDefined()
      switch (access.audience) {
        case 'public':
          expect(access, where).toEqual({ audience: 'public' })
          expect(op.security, where).toEqual([])
          break
        case 'bootstrap':
          expect(access, where).toEqual({ audience: 'bootstrap' })
          expect(op.security, where).toEqual([{ BootstrapToken: [] }])
          break
        case 'operator': {
          const { audience: _a, allowPasswordChange, ...rest } = access
          expect(rest, where).toEqual({})
          expect(op.security, where).toEqual([{ Bearer: [] }])
          expect(path, where).toMatch(/^\/ops\/v1\//)
          if (allowPasswordChange !== undefined) expect(['/ops/v1/auth/password', '/ops/v1/auth/logout'], where).toContain(path)
          break
        }
        case 'tenant': {
          expect(op.security, where).toEqual([{ Bearer: [] }])
          expect(path, where).toMatch(/^\/api\/v1\//)
          const { audience: _a, permission, role, allowPasswordChange, ...rest } = access
          expect(rest, where).toEqual({})
          if (permission !== undefined) expect(Object.keys(ALLOWS), where).toContain(permission)
          if (role !== undefined) expect(role, where).toBe('admin')
          if (allowPasswordChange !== undefined) expect(['/api/v1/auth/password', '/api/v1/auth/logout'], where).toContain(path)
          break
        }
        default:
          expect.unreachable(`${where}: unknown audience ${JSON.stringify(access.audience)}`)
      }
    }
  })

  it('declares role admin on every users, policy, ledger and support-access route', async () => {
    const ops = (await operations()).filter((o) => ADMIN_ONLY.test(o.path))
    expect(ops.map((o) => `${o.method} ${o.path}`)).toEqual(
      expect.arrayContaining([
        'GET /api/v1/users',
        'POST /api/v1/users',
        'GET /api/v1/users/{id}',
        'PATCH /api/v1/users/{id}',
        'DELETE /api/v1/users/{id}',
        'GET /api/v1/policy',
        'PUT /api/v1/policy',
        'GET /api/v1/ledger',
        'POST /api/v1/support-access',
        'DELETE /api/v1/support-access',
      ]),
    )
    for (const { method, path, op } of ops) expect(op['x-access'], `${method} ${path}`).toEqual({ audience: 'tenant', role: 'admin' })
  })

  it('declares the permissions of API.md on the data routes', async () => {
    const declared = Object.fromEntries((await operations()).map((o) => [`${o.method} ${o.path}`, o.op['x-access']]))
    expect(declared['GET /api/v1/files/{file}']).toEqual({ audience: 'tenant', permission: 'download' })
    expect(declared['PUT /api/v1/files/{file}']).toEqual({ audience: 'tenant', permission: 'files:write' })
    expect(declared['GET /api/v1/files']).toEqual({ audience: 'tenant', permission: 'files:read' })
    expect(declared['GET /api/v1/records']).toEqual({ audience: 'tenant', permission: 'records:read' })
    expect(declared['POST /api/v1/records']).toEqual({ audience: 'tenant', permission: 'records:write' })
    expect(declared['GET /api/v1/audit']).toEqual({ audience: 'tenant', permission: 'audit:read' })
    expect(declared['GET /api/v1/sessions']).toEqual({ audience: 'tenant' })
    expect(declared['GET /api/v1/me']).toEqual({ audience: 'tenant' })
    expect(declared['GET /ops/v1/plans']).toEqual({ audience: 'operator' })
  })

  it('enforces the declarations: a member gets 403 forbidden on every admin route, before its input is read', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const adminOps = (await operations()).filter((o) => o.op['x-access'].audience === 'tenant' && o.op['x-access'].role === 'admin')
    expect(adminOps.length).toBeGreaterThanOrEqual(12)
    // A session refused this often would raise a permission-failure alert: spread the probes over
    // sessions that each stay below its threshold, so nothing but the refusal counters changes.
    const perSession = DETECTORS.permissionFailures.threshold - 1
    const tokens = [member.token]
    while (tokens.length * perSession < adminOps.length) tokens.push(await signIn(t.slug, member.email, member.password))
    const before = await snapshotCounts()
    for (const [i, { method, path }] of adminOps.entries()) {
      const concrete = path.replace(/\{[^}]+\}/g, t.adminId)
      const token = tokens[Math.floor(i / perSession)]!
      const reply = await call(method, concrete, { token, ...(method === 'GET' || method === 'DELETE' ? {} : { body: {} }) })
      expect({ route: `${method} ${path}`, status: reply.status, type: reply.body?.type }).toEqual({
        route: `${method} ${path}`,
        status: 403,
        type: 'forbidden',
      })
    }
    expect(await snapshotCounts()).toEqual({ ...before, alert_counters: before.alert_counters! + tokens.length })
    expect(await refusalsCounted(t.id)).toBe(adminOps.length)
  })

  it('enforces the declarations: an account without a route\u2019s permission gets 403 forbidden', async () => {
    const t = await tenantWithAdmin()
    const bare = await userOf(t, 'member', [])
    const before = await snapshotCounts()
    const guarded = (await operations()).filter((o) => o.op['x-access'].audience === 'tenant' && o.op['x-access'].permission)
    expect(guarded.length).toBeGreaterThanOrEqual(10)
    for (const { method, path } of guarded) {
      const concrete = path.replace(/\{[^}]+\}/g, 'x1')
      const reply = await call(method, concrete, { token: bare.token, ...(method === 'GET' || method === 'DELETE' ? {} : { body: {} }) })
      expect({ route: `${method} ${path}`, status: reply.status, type: reply.body?.type }).toEqual({
        route: `${method} ${path}`,
        status: 403,
        type: 'forbidden',
      })
    }
    expect(await snapshotCounts()).toEqual({ ...before, alert_counters: before.alert_counters! + 1 })
    expect(await refusalsCounted(t.id)).toBe(guarded.length)
  })
})

describe('plans', () => {
  it('lists the three plans with their limits', async () => {
    const reply = await call('GET', '/ops/v1/plans', { token: await operator() })
    expect(reply.status).toBe(200)
    expect(reply.body.items).toEqual([
      { id: 'free', name: 'Free', seats: 5, concurrent_sessions: 10, storage_bytes: 1073741824, requests_per_minute: 120, requests_per_month: 100000 },
      { id: 'standard', name: 'Standard', seats: 50, concurrent_sessions: 100, storage_bytes: 53687091200, requests_per_minute: 600, requests_per_month: 2000000 },
      { id: 'enterprise', name: 'Enterprise', seats: 1000, concurrent_sessions: 2000, storage_bytes: 1099511627776, requests_per_minute: 3000, requests_per_month: 20000000 },
    ])
  })

  it('answers a tenant token 401 on the plans route', async () => {
    const t = await tenantWithAdmin()
    expectProblem(await call('GET', '/ops/v1/plans', { token: t.adminToken }), 401, 'unauthenticated')
  })

  it('a plan change by the operator changes the seat limit user creation sees', async () => {
    const t = await tenantWithAdmin('standard')
    const ops = await operator()
    await createMembers(t, 4)
    expect((await createUser(t, { email: emailIn(t, 'sixth'), name: 'Sixth', role: 'member' })).status).toBe(201)
    const down = await call('PATCH', `/ops/v1/tenants/${t.id}`, { token: ops, body: { plan: 'free' } })
    expect(down.status).toBe(200)
    expect(down.body.plan).toBe('free')
    const refused = await createUser(t, { email: emailIn(t, 'seventh'), name: 'Seventh', role: 'member' })
    expect(expectProblem(refused, 409, 'seat-limit-reached').detail).toContain('The free plan allows 5 active accounts')
    const up = await call('PATCH', `/ops/v1/tenants/${t.id}`, { token: ops, body: { plan: 'standard' } })
    expect(up.status).toBe(200)
    expect((await createUser(t, { email: emailIn(t, 'seventh'), name: 'Seventh', role: 'member' })).status).toBe(201)
    const changes = await call('GET', `/ops/v1/audit?tenant_id=${t.id}&action=tenant.update`, { token: ops })
    expect(changes.body.items.map((e: { details: unknown }) => e.details)).toEqual([
      { changes: { plan: { from: 'free', to: 'standard' } } },
      { changes: { plan: { from: 'standard', to: 'free' } } },
    ])
  })
})
