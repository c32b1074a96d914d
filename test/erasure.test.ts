import { createExecutionContext, createScheduledController, env, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TENANT_TABLES } from '../src/db/tenant-tables'
import { openForOwner, sealForOwner } from '../src/services/keys/field-crypto'
import worker from '../src/index'
import { accountKey, accountObject, tenantRealm } from '../src/services/abuse/keys'
import { ERASURE_BUDGET, ERASURE_PAGE, terminateTenant } from '../src/services/tenancy/erasure'
import { RETENTION_NOTICE, erasureJwks, signingKey } from '../src/services/tenancy/erasure-certificate'
import { call, expectProblem, operator, schemaTables, tenantWithAdmin, userOf, type TestTenant } from './helpers'

let ops: string

beforeAll(async () => {
  ops = await operator()
})

const defaults = { budget: { ...ERASURE_BUDGET }, page: { ...ERASURE_PAGE } }
afterEach(() => {
  Object.assign(ERASURE_BUDGET, defaults.budget)
  Object.assign(ERASURE_PAGE, defaults.page)
})

/** Every table of the live database with a tenant column, as SQLite lists it: independent of the list the eraser uses. */
async function tenantColumnTables() {
  const found: { name: string; column: string }[] = []
  for (const table of await schemaTables()) {
    if (table === 'tenant_erasures') continue
    const { results } = await env.DB.prepare('SELECT name FROM pragma_table_info(?)').bind(table).all<{ name: string }>()
    if (results.some((c) => c.name === 'tenant_id')) found.push({ name: table, column: 'tenant_id' })
  }
  return [...found, { name: 'tenants', column: 'id' }]
}

async function rowsOf(tenantId: string) {
  const counts: Record<string, number> = {}
  for (const { name, column } of await tenantColumnTables()) {
    counts[name] = (await env.DB.prepare(`SELECT count(*) AS n FROM "${name}" WHERE "${column}" = ?`).bind(tenantId).first<{ n: number }>())!.n
  }
  return counts
}

async function objectsUnder(bucket: R2Bucket, prefix: string) {
  return (await bucket.list({ prefix })).objects.map((o) => o.key)
}

async function backupObjects(tenantId: string) {
  return objectsUnder(env.BACKUPS, `tenants/${tenantId}/`)
}

/** What a Durable Object holds: its key-value entries, its own SQL tables and its alarm. */
async function durableState(stub: DurableObjectStub) {
  return runInDurableObject(stub, async (_instance, state) => ({
    kv: [...state.storage.kv.list()].length,
    tables: state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
      .toArray()
      .map((r) => r.name),
    alarm: await state.storage.getAlarm(),
  }))
}

function sessionStore(tenantId: string) {
  return env.SESSIONS.get(env.SESSIONS.idFromName(`tenant:${tenantId}:sessions:0`))
}

function auditChain(tenantId: string) {
  return env.AUDIT_CHAIN.get(env.AUDIT_CHAIN.idFromName(`audit:${tenantId}`))
}

async function throttle(slug: string, email: string) {
  return env.THROTTLE.get(env.THROTTLE.idFromName(await accountObject(env, accountKey(tenantRealm(slug), email))))
}

type Fixture = TestTenant & { member: Awaited<ReturnType<typeof userOf>>; fileIds: string[] }

/** A tenant with something in every store: records, files, a policy, a support grant, a window, an incident, throttles, backups. */
async function populated(): Promise<Fixture> {
  const t = await tenantWithAdmin()
  const member = await userOf(t, 'member')
  for (let i = 0; i < 3; i++) {
    expect((await call('POST', '/api/v1/records', { token: member.token, body: { collection: 'notes', data: { i } } })).status).toBe(201)
  }
  const fileIds: string[] = []
  for (const name of ['a.txt', 'b.txt']) {
    const put = await call('PUT', `/api/v1/files/${name}`, { token: member.token, raw: `contents of ${name}`, headers: { 'Content-Type': 'text/plain' } })
    expect(put.status).toBe(201)
    fileIds.push(put.body.id)
  }
  expect((await call('POST', '/api/v1/support-access', { token: t.adminToken, body: { hours: 4 } })).status).toBe(200)
  const window = await call('POST', '/ops/v1/maintenance-windows', {
    token: ops,
    body: { starts_at: new Date(Date.now() + 8 * 86_400_000).toISOString(), duration_minutes: 60, kind: 'maintenance', tenant_ids: [t.id] },
  })
  expect(window.status).toBe(201)
  const incident = await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'Slow', description: 'Slow uploads.', severity: 'minor', tenant_ids: [t.id] } })
  expect(incident.status).toBe(201)
  // A wrong password leaves a failure count in the member's throttle object.
  expect((await call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: member.email, password: 'wrong-password-1234' } })).status).toBe(401)
  for (const key of [`tenants/${t.id}/snapshots/bk_fixture/manifest.json`, `tenants/${t.id}/snapshots/bk_fixture/data`, `tenants/${t.id}/blobs/abcdef`]) {
    await env.BACKUPS.put(key, 'ciphertext')
  }
  return { ...t, member, fileIds }
}

async function terminate(tenantId: string) {
  return call('DELETE', `/ops/v1/tenants/${tenantId}`, { token: ops })
}

async function verified(certificate: string) {
  const jwks = await call('GET', '/.well-known/jwks.json')
  expect(jwks.status).toBe(200)
  return jwtVerify(certificate, createLocalJWKSet(jwks.body), { issuer: 'mamori', typ: 'erasure-certificate+jwt' })
}

async function fiveMinuteCron() {
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: '*/5 * * * *', scheduledTime: Date.now() }), env, ctx)
  await waitOnExecutionContext(ctx)
}

describe('DELETE /ops/v1/tenants/{id}: termination', () => {
  let t: Fixture
  let other: Fixture
  let otherRowsBefore: Record<string, number>
  let certificate: string
  let sealed: string

  beforeAll(async () => {
    t = await populated()
    sealed = await sealForOwner(env, t.id, 'a secret of the tenant', 'erasure-test')
    other = await populated()
    otherRowsBefore = await rowsOf(other.id)
    // Sanity: the stores really hold the tenant's state before termination.
    const rows = await rowsOf(t.id)
    for (const table of ['tenants', 'users', 'records', 'files', 'audit_events', 'support_grants', 'maintenance_window_tenants', 'incident_tenants', 'mail_outbox', 'tenant_usage']) {
      expect(rows[table], table).toBeGreaterThan(0)
    }
    expect(await objectsUnder(env.FILES, `tenants/${t.id}/`)).toHaveLength(2)
    expect((await durableState(sessionStore(t.id))).kv).toBeGreaterThan(0)
    expect((await durableState(auditChain(t.id))).kv).toBeGreaterThan(0)
    expect((await durableState(await throttle(t.slug, t.member.email))).tables).not.toEqual([])
    const reply = await terminate(t.id)
    expect(reply.status).toBe(200)
    expect(Object.keys(reply.body)).toEqual(['certificate'])
    certificate = reply.body.certificate
  })

  it('leaves zero rows of the tenant in every table that has a tenant column', async () => {
    const rows = await rowsOf(t.id)
    expect(Object.values(rows).every((n) => n === 0), JSON.stringify(rows)).toBe(true)
    // The data keys are no tenant data (never exported or snapshotted) but go too, after being destroyed.
    expect(Object.keys(rows).sort()).toEqual([...TENANT_TABLES.map((x) => x.name), 'tenant_keys'].sort())
  })

  it('destroys the tenant key: a ciphertext sealed under it before termination no longer opens', async () => {
    await expect(openForOwner(env, t.id, sealed, 'erasure-test', () => Promise.reject(new Error('no legacy key')))).rejects.toThrow()
    const event = await env.DB.prepare("SELECT details FROM audit_events WHERE chain = 'platform' AND action = 'keys.destroyed' AND target_id = ?").bind(t.id).first<{ details: string }>()
    expect(JSON.parse(event!.details).key_ids).toHaveLength(1)
  })

  it('leaves zero objects under the tenant’s FILES and BACKUPS prefixes', async () => {
    expect(await objectsUnder(env.FILES, `tenants/${t.id}/`)).toEqual([])
    expect(await backupObjects(t.id)).toEqual([])
  })

  it('leaves zero state in the tenant’s session store, audit chain sequencer and account throttles', async () => {
    const empty = { kv: 0, tables: [], alarm: null }
    expect(await durableState(sessionStore(t.id))).toEqual(empty)
    expect(await durableState(auditChain(t.id))).toEqual(empty)
    expect(await durableState(await throttle(t.slug, t.member.email))).toEqual(empty)
    expect(await durableState(await throttle(t.slug, t.adminEmail))).toEqual(empty)
  })

  it('keeps only the erasure record: certificate, counts and no slug', async () => {
    const row = await env.DB.prepare('SELECT slug, step, certificate, finished_at, lease_until FROM tenant_erasures WHERE tenant_id = ?').bind(t.id).first()
    expect(row).toEqual({ slug: null, step: 'done', certificate, finished_at: expect.any(String), lease_until: null })
  })

  it('answers a certificate that verifies with the key published at /.well-known/jwks.json and states what was erased', async () => {
    const jwks = await call('GET', '/.well-known/jwks.json')
    expect(jwks.body.keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: expect.any(String), alg: 'EdDSA', use: 'sig' }])
    expect(decodeProtectedHeader(certificate)).toEqual({ alg: 'EdDSA', kid: jwks.body.keys[0].kid, typ: 'erasure-certificate+jwt' })
    const { payload } = await verified(certificate)
    expect(payload.sub).toBe(t.id)
    expect(payload.tenant).toEqual({ id: t.id, slug: t.slug })
    const erased = payload.erased as any
    expect(erased.d1.rows).toMatchObject({ records: 3, files: 2, users: 2, tenants: 1, support_grants: 1, maintenance_window_tenants: 1, incident_tenants: 1 })
    expect(erased.d1.rows.audit_events).toBeGreaterThan(5)
    expect(erased.d1.total).toBe(Object.values(erased.d1.rows as Record<string, number>).reduce((a, b) => a + b, 0))
    expect(Object.keys(erased.d1.rows).sort()).toEqual(TENANT_TABLES.map((x) => x.name).sort())
    expect(erased.files).toEqual({ objects: 2 })
    expect(erased.backups).toEqual({ objects: 3 })
    expect(erased.durable_objects).toEqual({ session_stores: 1, audit_chain: 1, throttles: 2 })
    expect(erased.tenant_key).toEqual({ destroyed: true })
    expect(payload.retention).toBe(RETENTION_NOTICE)
    expect(payload.retention).toMatch(/30 days/)
    expect(Date.parse(payload.erased_at as string)).toBeLessThanOrEqual(Date.now())
  })

  it('states the final audit chain head: the last event of the trail before it was erased', async () => {
    const { payload } = await verified(certificate)
    const head = payload.final_audit_head as { seq: number; hash: string }
    expect(head).toEqual({ seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect(head.seq).toBe((payload.erased as any).d1.rows.audit_events)
  })

  it('records the termination and its completion in the operators’ log', async () => {
    const { results } = await env.DB.prepare(
      "SELECT action, actor_type, category, tenant_id, details FROM audit_events WHERE chain = 'platform' AND target_id = ? ORDER BY seq",
    )
      .bind(t.id)
      .all<{ action: string; actor_type: string; category: string; tenant_id: string | null; details: string }>()
    expect(results.map((r) => [r.action, r.actor_type, r.category, r.tenant_id])).toEqual([
      ['tenant.terminate', 'operator', 'administration', null],
      ['keys.destroyed', 'system', 'administration', null],
      ['tenant.erased', 'system', 'administration', null],
    ])
    expect(JSON.parse(results[2]!.details)).toMatchObject({ files: 2, backups: 3, certificate_sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })
  })

  it('leaves another tenant untouched: its rows, files, backups and sessions', async () => {
    expect(await rowsOf(other.id)).toEqual(otherRowsBefore)
    expect(await objectsUnder(env.FILES, `tenants/${other.id}/`)).toHaveLength(2)
    expect(await backupObjects(other.id)).toHaveLength(3)
    const listed = await call('GET', '/api/v1/records', { token: other.member.token })
    expect(listed.status).toBe(200)
    expect(listed.body.items).toHaveLength(3)
  })

  it('ends the tenant’s sessions and refuses its sign-in as invalid credentials', async () => {
    expectProblem(await call('GET', '/api/v1/records', { token: t.member.token }), 401, 'unauthenticated')
    expectProblem(
      await call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: t.adminEmail, password: t.adminPassword } }),
      401,
      'invalid-credentials',
    )
  })

  it('answers the same certificate at GET …/certificate and to a second DELETE', async () => {
    const got = await call('GET', `/ops/v1/tenants/${t.id}/certificate`, { token: ops })
    expect(got).toMatchObject({ status: 200, body: { certificate } })
    const again = await terminate(t.id)
    expect(again).toMatchObject({ status: 200, body: { certificate } })
    const events = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE chain = 'platform' AND target_id = ?").bind(t.id).first('n')
    expect(events).toBe(3)
  })

  it('answers 404 for the certificate of a live tenant and for an unknown tenant', async () => {
    expectProblem(await call('GET', `/ops/v1/tenants/${other.id}/certificate`, { token: ops }), 404, 'not-found')
    expectProblem(await terminate('tn_00000000000000000000000000'), 404, 'not-found')
  })

  it('is for operators only', async () => {
    expectProblem(await call('DELETE', `/ops/v1/tenants/${other.id}`, { token: other.adminToken }), 401, 'unauthenticated')
    expect((await rowsOf(other.id)).tenants).toBe(1)
  })
})

describe('termination of a tenant too large for one call', () => {
  it('answers 202 with the progress, 404 for the certificate meanwhile, and the five-minute job finishes it', async () => {
    const t = await populated()
    ERASURE_PAGE.rows = 2
    ERASURE_BUDGET.request = 20
    ERASURE_BUDGET.cron = 20
    const first = await terminate(t.id)
    expect(first.status).toBe(202)
    expect(first.body).toMatchObject({ status: 'in_progress', tenant_id: t.id, step: expect.any(String), erased: expect.any(Object) })
    expectProblem(await call('GET', `/ops/v1/tenants/${t.id}/certificate`, { token: ops }), 404, 'not-found')
    // Suspended at once: nobody signs in while it is erased.
    expect(await env.DB.prepare('SELECT status FROM tenants WHERE id = ?').bind(t.id).first('status')).toBe('suspended')
    let runs = 0
    while ((await env.DB.prepare('SELECT finished_at FROM tenant_erasures WHERE tenant_id = ?').bind(t.id).first('finished_at')) === null) {
      await fiveMinuteCron()
      expect(++runs).toBeLessThan(60)
    }
    expect(runs).toBeGreaterThan(1)
    const rows = await rowsOf(t.id)
    expect(Object.values(rows).every((n) => n === 0), JSON.stringify(rows)).toBe(true)
    expect(await objectsUnder(env.FILES, `tenants/${t.id}/`)).toEqual([])
    expect(await backupObjects(t.id)).toEqual([])
    const got = await call('GET', `/ops/v1/tenants/${t.id}/certificate`, { token: ops })
    expect(got.status).toBe(200)
    const { payload } = await verified(got.body.certificate)
    // Counted exactly across the runs, each delete with its count.
    expect((payload.erased as any).d1.rows).toMatchObject({ records: 3, files: 2, users: 2, tenants: 1 })
    expect((payload.erased as any).files).toEqual({ objects: 2 })
    expect((payload.erased as any).backups).toEqual({ objects: 3 })
  })
})

describe('GET /.well-known/jwks.json', () => {
  it('is public and names one Ed25519 signing key', async () => {
    const reply = await call('GET', '/.well-known/jwks.json')
    expect(reply.status).toBe(200)
    expect(reply.body.keys).toHaveLength(1)
    expect(reply.body.keys[0]).not.toHaveProperty('d')
  })
})

describe('hard delete during use (SE-36)', () => {
  it('removes a deleted record from D1 at once', async () => {
    const t = await tenantWithAdmin()
    const made = await call('POST', '/api/v1/records', { token: t.adminToken, body: { collection: 'c', data: { secret: 'x' } } })
    expect((await call('DELETE', `/api/v1/records/${made.body.id}`, { token: t.adminToken })).status).toBe(204)
    expect(await env.DB.prepare('SELECT count(*) AS n FROM records WHERE id = ?').bind(made.body.id).first('n')).toBe(0)
  })

  it('removes a deleted file from D1 and R2 at once, and a replaced file’s old object too', async () => {
    const t = await tenantWithAdmin()
    const first = await call('PUT', '/api/v1/files/f.txt', { token: t.adminToken, raw: 'one', headers: { 'Content-Type': 'text/plain' } })
    const second = await call('PUT', '/api/v1/files/f.txt', { token: t.adminToken, raw: 'two', headers: { 'Content-Type': 'text/plain' } })
    expect(await env.DB.prepare('SELECT count(*) AS n FROM files WHERE id = ?').bind(first.body.id).first('n')).toBe(0)
    expect(await env.FILES.head(`tenants/${t.id}/files/${first.body.id}`)).toBeNull()
    expect((await call('DELETE', `/api/v1/files/${second.body.id}`, { token: t.adminToken })).status).toBe(204)
    expect(await env.DB.prepare('SELECT count(*) AS n FROM files WHERE tenant_id = ?').bind(t.id).first('n')).toBe(0)
    expect(await objectsUnder(env.FILES, `tenants/${t.id}/`)).toEqual([])
  })
})

describe('the erasure signing key', () => {
  it('refuses to terminate without a signing key (503), erasing nothing and recording nothing', async () => {
    const t = await tenantWithAdmin()
    const before = await rowsOf(t.id)
    const unsigned = { ...env, ERASURE_SIGNING_KEY: '' }
    const meta = { requestId: 'test', ip: null, userAgent: null }
    await expect(terminateTenant(unsigned, t.id, { type: 'operator', id: 'op_test' }, meta)).rejects.toMatchObject({
      status: 503,
      type: 'erasure-signing-key-missing',
    })
    expect(await rowsOf(t.id)).toEqual(before)
    expect(await env.DB.prepare('SELECT status FROM tenants WHERE id = ?').bind(t.id).first('status')).toBe('active')
    expect(await env.DB.prepare('SELECT count(*) AS n FROM tenant_erasures WHERE tenant_id = ?').bind(t.id).first('n')).toBe(0)
    await expect(signingKey({ ERASURE_SIGNING_KEY: '{"kty":"OKP","crv":"Ed25519","x":"no-private-part"}' })).rejects.toMatchObject({ status: 503 })
  })

  it('takes a PKCS8 PEM as well as a JWK, and publishes only its public half', async () => {
    const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair
    const der = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer)
    const pem = `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...der))}\n-----END PRIVATE KEY-----`
    const raw = new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer)
    const x = btoa(String.fromCharCode(...raw)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
    const { keys } = await erasureJwks({ ERASURE_SIGNING_KEY: pem })
    expect(keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x, kid: expect.any(String), alg: 'EdDSA', use: 'sig' }])
  })
})
