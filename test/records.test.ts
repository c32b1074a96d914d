import { env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { call, expectProblem, tenantWithAdmin, type TestTenant } from './helpers'

let acme: TestTenant
let globex: TestTenant

beforeAll(async () => {
  acme = await tenantWithAdmin()
  globex = await tenantWithAdmin()
})

async function create(tenant: TestTenant, collection: string, data: Record<string, unknown>) {
  const reply = await call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection, data } })
  expect(reply.status).toBe(201)
  return reply.body as { id: string; collection: string; data: Record<string, unknown> }
}

function withoutRequestId(body: Record<string, unknown>) {
  const { request_id: _ignored, detail: _detail, ...rest } = body
  return rest
}

describe('records', () => {
  it('stores the data exactly, including unicode and hostile-looking strings', async () => {
    const data = { name: '山田 太郎', note: "'; DROP TABLE records;--", nested: { list: [1, 'two', null, { x: true }] } }
    const record = await create(acme, 'people', data)
    expect((await call('GET', `/api/v1/records/${record.id}`, { token: acme.adminToken })).body.data).toEqual(data)
    expect((await env.DB.prepare('SELECT count(*) AS n FROM records').first<{ n: number }>())!.n).toBeGreaterThan(0)
  })

  it('records who created and who last changed a record', async () => {
    const record = await create(acme, 'people', { v: 1 })
    const updated = await call('PUT', `/api/v1/records/${record.id}`, { token: acme.adminToken, body: { collection: 'people', data: { v: 2 } } })
    expect(updated.body).toMatchObject({ created_by: acme.adminId, updated_by: acme.adminId })
    expect(Date.parse(updated.body.updated_at)).toBeGreaterThanOrEqual(Date.parse(updated.body.created_at))
  })

  it('lists only the chosen collection, newest first, in pages', async () => {
    const made = []
    for (let i = 0; i < 5; i++) made.push(await create(acme, 'paged', { i }))
    const first = await call('GET', '/api/v1/records?collection=paged&limit=2', { token: acme.adminToken })
    expect(first.body.items.map((r: { id: string }) => r.id)).toEqual([made[4]!.id, made[3]!.id])
    const second = await call('GET', `/api/v1/records?collection=paged&limit=2&cursor=${first.body.next_cursor}`, { token: acme.adminToken })
    expect(second.body.items.map((r: { id: string }) => r.id)).toEqual([made[2]!.id, made[1]!.id])
    const third = await call('GET', `/api/v1/records?collection=paged&limit=2&cursor=${second.body.next_cursor}`, { token: acme.adminToken })
    expect(third.body).toEqual({ items: [expect.objectContaining({ id: made[0]!.id })], next_cursor: null })
  })

  it('answers 404 for a deleted record on read, update and delete', async () => {
    const record = await create(acme, 'gone', { x: 1 })
    expect((await call('DELETE', `/api/v1/records/${record.id}`, { token: acme.adminToken })).status).toBe(204)
    expectProblem(await call('GET', `/api/v1/records/${record.id}`, { token: acme.adminToken }), 404, 'not-found')
    expectProblem(await call('PUT', `/api/v1/records/${record.id}`, { token: acme.adminToken, body: { collection: 'gone', data: {} } }), 404, 'not-found')
    expectProblem(await call('DELETE', `/api/v1/records/${record.id}`, { token: acme.adminToken }), 404, 'not-found')
  })

  it('writes no audit event for an update or delete that found nothing', async () => {
    const before = (await env.DB.prepare('SELECT count(*) AS n FROM audit_events').first<{ n: number }>())!.n
    await call('PUT', '/api/v1/records/rec_00000000000000000000000000', { token: acme.adminToken, body: { collection: 'c', data: {} } })
    await call('DELETE', '/api/v1/records/rec_00000000000000000000000000', { token: acme.adminToken })
    expect((await env.DB.prepare('SELECT count(*) AS n FROM audit_events').first<{ n: number }>())!.n).toBe(before)
  })
})

describe('storage quota (EX-4)', () => {
  const used = async (tenantId: string) =>
    (await env.DB.prepare('SELECT storage_used_bytes AS n FROM tenants WHERE id = ?').bind(tenantId).first<{ n: number }>())!.n
  const size = (data: unknown) => new TextEncoder().encode(JSON.stringify(data)).length

  it('counts the exact bytes of records as they are created, changed and deleted', async () => {
    const t = await tenantWithAdmin()
    const before = await used(t.id)
    const first = { name: '株式会社サンプル', n: 1 }
    const record = await create(t, 'sized', first)
    expect(await used(t.id)).toBe(before + size(first))
    const second = { name: 'x'.repeat(500) }
    expect((await call('PUT', `/api/v1/records/${record.id}`, { token: t.adminToken, body: { collection: 'sized', data: second } })).status).toBe(200)
    expect(await used(t.id)).toBe(before + size(second))
    expect((await call('DELETE', `/api/v1/records/${record.id}`, { token: t.adminToken })).status).toBe(204)
    expect(await used(t.id)).toBe(before)
  })

  it('refuses a record that would exceed the plan quota with 413 quota-exceeded and stores nothing', async () => {
    const t = await tenantWithAdmin('free')
    await env.DB.prepare('UPDATE tenants SET storage_used_bytes = 1073741824 - 10 WHERE id = ?').bind(t.id).run()
    const before = (await env.DB.prepare('SELECT count(*) AS n FROM records WHERE tenant_id = ?').bind(t.id).first<{ n: number }>())!.n
    const reply = await call('POST', '/api/v1/records', { token: t.adminToken, body: { collection: 'big', data: { text: 'more than ten bytes' } } })
    expect(expectProblem(reply, 413, 'quota-exceeded')).toMatchObject({ quota_bytes: 1073741824, used_bytes: 1073741814 })
    expect((await env.DB.prepare('SELECT count(*) AS n FROM records WHERE tenant_id = ?').bind(t.id).first<{ n: number }>())!.n).toBe(before)
    expect(await used(t.id)).toBe(1073741814)
  })

  it('lets a record shrink even when the tenant is over its quota', async () => {
    const t = await tenantWithAdmin('free')
    const record = await create(t, 'shrink', { text: 'y'.repeat(200) })
    await env.DB.prepare('UPDATE tenants SET storage_used_bytes = 1073741824 WHERE id = ?').bind(t.id).run()
    const reply = await call('PUT', `/api/v1/records/${record.id}`, { token: t.adminToken, body: { collection: 'shrink', data: { text: 'y' } } })
    expect(reply.status).toBe(200)
    expect(await used(t.id)).toBe(1073741824 - 200 + 1)
  })
})

describe('tenant isolation', () => {
  it('answers another tenant\u2019s record id exactly like a missing one, for read, update and delete', async () => {
    const theirs = await create(globex, 'secret', { owner: 'globex' })
    const missing = 'rec_00000000000000000000000000'
    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { collection: 'secret', data: { owner: 'acme' } }],
      ['DELETE', undefined],
    ] as const) {
      const cross = await call(method, `/api/v1/records/${theirs.id}`, { token: acme.adminToken, body })
      const absent = await call(method, `/api/v1/records/${missing}`, { token: acme.adminToken, body })
      expectProblem(cross, 404, 'not-found')
      expect(withoutRequestId(cross.body)).toEqual(withoutRequestId(absent.body))
    }
    const stored = await call('GET', `/api/v1/records/${theirs.id}`, { token: globex.adminToken })
    expect(stored.body.data).toEqual({ owner: 'globex' })
  })

  it('never lists another tenant\u2019s records, whatever the filter', async () => {
    await create(globex, 'shared-name', { owner: 'globex' })
    await create(acme, 'shared-name', { owner: 'acme' })
    const list = await call('GET', '/api/v1/records?collection=shared-name&limit=200', { token: acme.adminToken })
    expect(list.body.items.map((r: { data: { owner: string } }) => r.data.owner)).toEqual(['acme'])
  })

  it('leaves no audit event in the other tenant\u2019s trail for a refused cross-tenant write', async () => {
    const theirs = await create(globex, 'secret', { owner: 'globex' })
    const before = (await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE chain = ?').bind(globex.id).first<{ n: number }>())!.n
    await call('DELETE', `/api/v1/records/${theirs.id}`, { token: acme.adminToken })
    const after = (await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE chain = ?').bind(globex.id).first<{ n: number }>())!.n
    expect(after).toBe(before)
  })

  it('treats another tenant\u2019s cursor as a mere position and still lists only its own records', async () => {
    for (let i = 0; i < 3; i++) await create(globex, 'cursor', { i })
    const theirs = await call('GET', '/api/v1/records?collection=cursor&limit=1', { token: globex.adminToken })
    const mine = await call('GET', `/api/v1/records?collection=cursor&cursor=${theirs.body.next_cursor}`, { token: acme.adminToken })
    expect(mine.status).toBe(200)
    expect(mine.body.items).toEqual([])
  })

  it.each([
    ['1e400 at the top of data', '{"n":1e400}', 'body.data.n'],
    ['-1e400 in a nested list', '{"a":{"list":[1,-1e400]}}', 'body.data.a.list.1'],
    ['1e999 among finite numbers', '{"ok":1.7976931348623157e308,"bad":1e999}', 'body.data.bad'],
  ])('refuses %s with 422 validation at its path and stores nothing', async (_, data, path) => {
    const before = (await env.DB.prepare('SELECT count(*) AS n FROM records WHERE tenant_id = ?').bind(acme.id).first<{ n: number }>())!.n
    const reply = await call('POST', '/api/v1/records', {
      token: acme.adminToken,
      raw: `{"collection":"numbers","data":${data}}`,
      headers: { 'Content-Type': 'application/json' },
    })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors).toEqual([{ path, code: 'custom', message: 'A number too large for JSON (it would be stored as null).' }])
    const after = (await env.DB.prepare('SELECT count(*) AS n FROM records WHERE tenant_id = ?').bind(acme.id).first<{ n: number }>())!.n
    expect(after).toBe(before)
  })

  it('refuses a non-finite number on PUT too, leaving the record as it was', async () => {
    const record = await create(acme, 'numbers', { n: 1 })
    const reply = await call('PUT', `/api/v1/records/${record.id}`, {
      token: acme.adminToken,
      raw: '{"collection":"numbers","data":{"n":1e400}}',
      headers: { 'Content-Type': 'application/json' },
    })
    expectProblem(reply, 422, 'validation')
    expect((await call('GET', `/api/v1/records/${record.id}`, { token: acme.adminToken })).body.data).toEqual({ n: 1 })
  })

  it('keeps the largest finite numbers exactly', async () => {
    const data = { max: Number.MAX_VALUE, min: -Number.MAX_VALUE, tiny: Number.MIN_VALUE }
    const record = await create(acme, 'numbers', data)
    expect((await call('GET', `/api/v1/records/${record.id}`, { token: acme.adminToken })).body.data).toEqual(data)
  })
})
