import { env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { newId } from '../src/lib/ids'
import { call, expectProblem, tenantWithAdmin, userOf, type Reply, type TestTenant, type TestUser } from './helpers'

/**
 * SE-7: tenant A's admin and member hold real ids of tenant B's record,
 * account, session and file. Every route that takes an id must answer them
 * exactly as it answers an id that exists nowhere, and leave B untouched.
 */

const ADMIN_DEFAULTS = ['audit:read', 'files:read', 'files:write', 'records:read', 'records:write']
const MEMBER_DEFAULTS = ['files:read', 'files:write', 'records:read', 'records:write']

type Side = { tenant: TestTenant; member: TestUser; recordId: string; fileId: string; memberSessionId: string }

let a: Side
let b: Side

async function side(): Promise<Side> {
  const tenant = await tenantWithAdmin()
  // download is granted explicitly to both accounts, so that GET /api/v1/files/{id} reaches the lookup.
  const granted = await call('PATCH', `/api/v1/users/${tenant.adminId}`, {
    token: tenant.adminToken,
    body: { permissions: [...ADMIN_DEFAULTS, 'download'] },
  })
  expect(granted.status).toBe(200)
  const member = await userOf(tenant, 'member', [...MEMBER_DEFAULTS, 'download'])
  const record = await call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection: 'private', data: { owner: tenant.slug } } })
  expect(record.status).toBe(201)
  const file = await call('PUT', `/api/v1/files/${tenant.slug}.txt`, {
    token: tenant.adminToken,
    raw: new TextEncoder().encode(`owned by ${tenant.slug}`),
    headers: { 'Content-Type': 'text/plain' },
  })
  expect(file.status).toBe(201)
  const sessions = await call('GET', '/api/v1/sessions', { token: tenant.adminToken })
  const memberSessions = sessions.body.items.filter((s: { user_id: string }) => s.user_id === member.id)
  expect(memberSessions).toHaveLength(1)
  return { tenant, member, recordId: record.body.id, fileId: file.body.id, memberSessionId: memberSessions[0].id }
}

beforeAll(async () => {
  a = await side()
  b = await side()
}, 60_000)

async function count(sql: string, ...params: unknown[]) {
  return (await env.DB.prepare(sql).bind(...params).first<{ n: number }>())!.n
}

/** Everything of B that any of the routes below could read, change or delete. */
async function viewOfB() {
  const admin = b.tenant.adminToken
  const record = await call('GET', `/api/v1/records/${b.recordId}`, { token: admin })
  const sessions = await call('GET', '/api/v1/sessions', { token: admin })
  const memberMe = await call('GET', '/api/v1/me', { token: b.member.token })
  return {
    record: { status: record.status, body: record.body },
    recordRow: await env.DB.prepare('SELECT * FROM records WHERE id = ?').bind(b.recordId).first(),
    memberRow: await env.DB.prepare('SELECT * FROM users WHERE id = ?').bind(b.member.id).first(),
    memberCertificates: (await call('GET', `/api/v1/users/${b.member.id}/certificates`, { token: admin })).body,
    memberSessionAlive: memberMe.status,
    sessionIds: sessions.body.items.map((s: { id: string }) => s.id).sort(),
    fileRow: await env.DB.prepare('SELECT * FROM files WHERE id = ?').bind(b.fileId).first(),
    objects: (await env.FILES.list({ prefix: `tenants/${b.tenant.id}/` })).objects.map((o) => ({ key: o.key, size: o.size, etag: o.etag })),
    storageUsed: await count('SELECT storage_used_bytes AS n FROM tenants WHERE id = ?', b.tenant.id),
    auditEvents: await count('SELECT count(*) AS n FROM audit_events WHERE chain = ?', b.tenant.id),
    mails: await count('SELECT count(*) AS n FROM mail_outbox WHERE tenant_id = ?', b.tenant.id),
  }
}

/** The view really holds B's objects, so comparing two views proves something. */
function expectLive(view: Awaited<ReturnType<typeof viewOfB>>) {
  expect(view.record.status).toBe(200)
  expect(view.recordRow).toMatchObject({ id: b.recordId, tenant_id: b.tenant.id })
  expect(view.memberRow).toMatchObject({ id: b.member.id, tenant_id: b.tenant.id, status: 'active' })
  expect(view.memberSessionAlive).toBe(200)
  expect(view.sessionIds).toContain(b.memberSessionId)
  expect(view.fileRow).toMatchObject({ id: b.fileId, tenant_id: b.tenant.id })
  expect(view.objects.map((o) => o.key)).toEqual([`tenants/${b.tenant.id}/files/${b.fileId}`])
  expect(view.storageUsed).toBeGreaterThan(0)
}

/** A reply with what must differ between two requests taken out: the request ID, and the id quoted in the detail. */
function normalised(reply: Reply, id: string) {
  const body = typeof reply.body === 'object' && reply.body !== null ? { ...reply.body } : reply.body
  if (typeof body === 'object' && body !== null) {
    delete body.request_id
    if (typeof body.detail === 'string') body.detail = body.detail.replaceAll(id, '<id>')
  }
  return { status: reply.status, contentType: reply.headers.get('Content-Type'), body }
}

type Kind = 'record' | 'user' | 'session' | 'file'
type Route = {
  method: string
  path: (id: string) => string
  body?: unknown
  kind: Kind
  /** What A's member gets: the lookup's 404, or 403 where members may not call the route at all. */
  member: 404 | 403
}

const prefixOf: Record<Kind, string> = { record: 'rec', user: 'usr', session: 'ses', file: 'fil' }

function bIdOf(kind: Kind) {
  return { record: b.recordId, user: b.member.id, session: b.memberSessionId, file: b.fileId }[kind]
}

const routes: Route[] = [
  { method: 'GET', path: (id) => `/api/v1/records/${id}`, kind: 'record', member: 404 },
  { method: 'PUT', path: (id) => `/api/v1/records/${id}`, body: { collection: 'private', data: { owner: 'intruder' } }, kind: 'record', member: 404 },
  { method: 'DELETE', path: (id) => `/api/v1/records/${id}`, kind: 'record', member: 404 },
  { method: 'GET', path: (id) => `/api/v1/users/${id}`, kind: 'user', member: 403 },
  { method: 'PATCH', path: (id) => `/api/v1/users/${id}`, body: { name: 'Intruder', permissions: ['records:read'] }, kind: 'user', member: 403 },
  { method: 'DELETE', path: (id) => `/api/v1/users/${id}`, kind: 'user', member: 403 },
  { method: 'POST', path: (id) => `/api/v1/users/${id}/reset-password`, kind: 'user', member: 403 },
  { method: 'GET', path: (id) => `/api/v1/users/${id}/certificates`, kind: 'user', member: 403 },
  { method: 'PUT', path: (id) => `/api/v1/users/${id}/certificates`, body: { fingerprints: ['ab'.repeat(32)] }, kind: 'user', member: 403 },
  { method: 'DELETE', path: (id) => `/api/v1/sessions/${id}`, kind: 'session', member: 404 },
  { method: 'GET', path: (id) => `/api/v1/files/${id}`, kind: 'file', member: 404 },
  { method: 'DELETE', path: (id) => `/api/v1/files/${id}`, kind: 'file', member: 404 },
]

const cases = routes.flatMap((route) => [
  { ...route, who: 'admin' as const, expected: 404 as const },
  { ...route, who: 'member' as const, expected: route.member },
])

describe('id-bearing routes (SE-7)', () => {
  it.each(cases.map((c) => [`${c.method} ${c.path('{id}')}`, c.who, c.expected, c] as const))(
    '%s: another tenant\u2019s id used by A\u2019s %s answers %i exactly like a missing id, and B is unchanged',
    async (_route, who, expected, route) => {
      const token = who === 'admin' ? a.tenant.adminToken : a.member.token
      const theirs = bIdOf(route.kind)
      const missing = newId(prefixOf[route.kind])
      const before = await viewOfB()
      const cross = await call(route.method, route.path(theirs), { token, body: route.body })
      const absent = await call(route.method, route.path(missing), { token, body: route.body })
      const after = await viewOfB()
      expectLive(before)
      expectProblem(cross, expected, expected === 404 ? 'not-found' : 'forbidden')
      expect(normalised(cross, theirs)).toEqual(normalised(absent, missing))
      expect(JSON.stringify(cross.body)).not.toContain(b.tenant.slug)
      expect(after).toEqual(before)
    },
  )

  it('answers A\u2019s own ids on the same routes, so the 404s above are not a broken route', async () => {
    const admin = a.tenant.adminToken
    expect((await call('GET', `/api/v1/records/${a.recordId}`, { token: admin })).status).toBe(200)
    expect((await call('GET', `/api/v1/records/${a.recordId}`, { token: a.member.token })).status).toBe(200)
    expect((await call('GET', `/api/v1/users/${a.member.id}`, { token: admin })).status).toBe(200)
    expect((await call('GET', `/api/v1/users/${a.member.id}/certificates`, { token: admin })).body).toEqual({ fingerprints: [] })
    expect((await call('GET', `/api/v1/files/${a.fileId}`, { token: admin })).status).toBe(200)
    expect((await call('GET', `/api/v1/files/${a.fileId}`, { token: a.member.token })).status).toBe(200)
  })

  it('leaves B\u2019s member able to work after every cross-tenant attempt', async () => {
    const me = await call('GET', '/api/v1/me', { token: b.member.token })
    expect(me.status).toBe(200)
    const record = await call('GET', `/api/v1/records/${b.recordId}`, { token: b.member.token })
    expect(record.body.data).toEqual({ owner: b.tenant.slug })
    const file = await call('GET', `/api/v1/files/${b.fileId}`, { token: b.member.token })
    expect(file.status).toBe(200)
    expect(file.body).toBe(`owned by ${b.tenant.slug}`)
  })
})

describe('list endpoints never show another tenant\u2019s items (SE-7)', () => {
  it('lists only A\u2019s records to A\u2019s admin and member', async () => {
    for (const token of [a.tenant.adminToken, a.member.token]) {
      const list = await call('GET', '/api/v1/records?limit=200', { token })
      expect(list.status).toBe(200)
      const ids = list.body.items.map((r: { id: string }) => r.id)
      expect(ids).toContain(a.recordId)
      expect(ids).not.toContain(b.recordId)
      expect(list.body.items.every((r: { data: { owner?: string } }) => r.data.owner !== b.tenant.slug)).toBe(true)
      const filtered = await call('GET', '/api/v1/records?collection=private&limit=200', { token })
      expect(filtered.body.items.map((r: { id: string }) => r.id)).toEqual([a.recordId])
    }
  })

  it('lists only A\u2019s accounts to A\u2019s admin', async () => {
    const list = await call('GET', '/api/v1/users?limit=200', { token: a.tenant.adminToken })
    expect(list.status).toBe(200)
    expect(list.body.items.map((u: { id: string }) => u.id).sort()).toEqual([a.tenant.adminId, a.member.id].sort())
    expect(JSON.stringify(list.body)).not.toContain(b.tenant.slug)
  })

  it('shows only A\u2019s accounts in A\u2019s account ledger', async () => {
    const ledger = await call('GET', '/api/v1/ledger', { token: a.tenant.adminToken })
    expect(ledger.status).toBe(200)
    const text = JSON.stringify(ledger.body)
    expect(text).toContain(a.member.id)
    for (const theirs of [b.tenant.adminId, b.member.id, b.member.email, b.tenant.adminEmail]) expect(text).not.toContain(theirs)
  })

  it('lists only A\u2019s files to A\u2019s admin and member', async () => {
    for (const token of [a.tenant.adminToken, a.member.token]) {
      const list = await call('GET', '/api/v1/files?limit=200', { token })
      expect(list.status).toBe(200)
      expect(list.body).toEqual({ items: [expect.objectContaining({ id: a.fileId, name: `${a.tenant.slug}.txt` })], next_cursor: null })
    }
  })

  it('lists only A\u2019s sessions to A\u2019s admin, and only the member\u2019s own to the member', async () => {
    const admin = await call('GET', '/api/v1/sessions', { token: a.tenant.adminToken })
    expect(admin.status).toBe(200)
    const owners = new Set(admin.body.items.map((s: { user_id: string }) => s.user_id))
    expect([...owners].every((id) => id === a.tenant.adminId || id === a.member.id)).toBe(true)
    expect(admin.body.items.map((s: { id: string }) => s.id)).toContain(a.memberSessionId)
    expect(admin.body.items.map((s: { id: string }) => s.id)).not.toContain(b.memberSessionId)
    const member = await call('GET', '/api/v1/sessions', { token: a.member.token })
    expect(member.body.items.map((s: { user_id: string }) => s.user_id)).toEqual([a.member.id])
  })

  it('shows A\u2019s admin only A\u2019s audit events, whatever the filter', async () => {
    const all = await call('GET', '/api/v1/audit?limit=200', { token: a.tenant.adminToken })
    expect(all.status).toBe(200)
    expect(all.body.items.length).toBeGreaterThan(0)
    expect(all.body.items.every((e: { tenant_id: string; chain: string }) => e.tenant_id === a.tenant.id && e.chain === a.tenant.id)).toBe(true)
    const bAccounts = [b.tenant.adminId, b.member.id]
    expect(all.body.items.some((e: { actor_id: string | null }) => bAccounts.includes(e.actor_id ?? ''))).toBe(false)
    const probe = await call('POST', '/api/v1/records', { token: b.tenant.adminToken, body: { collection: 'probe', data: {} } })
    for (const filter of [
      `actor=${b.tenant.adminId}`,
      `target=${b.recordId}`,
      `target=${probe.body.id}`,
      `request_id=${probe.headers.get('X-Request-Id')}`,
      'action=record.create&limit=200',
    ]) {
      const found = await call('GET', `/api/v1/audit?${filter}`, { token: a.tenant.adminToken })
      expect(found.status).toBe(200)
      expect(found.body.items.every((e: { tenant_id: string }) => e.tenant_id === a.tenant.id)).toBe(true)
      expect(found.body.items.map((e: { target_id: string }) => e.target_id)).not.toContain(probe.body.id)
    }
    expect((await call('GET', `/api/v1/audit?request_id=${probe.headers.get('X-Request-Id')}`, { token: b.tenant.adminToken })).body.items).toHaveLength(1)
  })

  it('shows A\u2019s admin only A\u2019s data extractions', async () => {
    await call('GET', `/api/v1/files/${b.fileId}`, { token: b.tenant.adminToken })
    const found = await call('GET', '/api/v1/audit?category=data_extraction&limit=200', { token: a.tenant.adminToken })
    expect(found.body.items.map((e: { target_id: string }) => e.target_id)).not.toContain(b.fileId)
    expect(found.body.items.every((e: { tenant_id: string }) => e.tenant_id === a.tenant.id)).toBe(true)
  })
})
