import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { call, expectProblem, operator, snapshotCounts, tenantWithAdmin, userOf } from './helpers'

/**
 * Per-contract limits (the seed's "per contract" answer for users,
 * sessions and disk): an operator overrides any plan limit for one tenant
 * with PATCH /ops/v1/tenants/{id} `limits`; null returns it to the plan's.
 * Every check of a limit uses the limit in force.
 */

const NO_OVERRIDES = { seats: null, concurrent_sessions: null, storage_bytes: null, requests_per_minute: null, requests_per_month: null }

async function patch(tenantId: string, body: unknown) {
  return call('PATCH', `/ops/v1/tenants/${tenantId}`, { token: await operator(), body })
}

async function tenantRow(id: string) {
  return env.DB.prepare(
    'SELECT plan_id, updated_at, limit_seats, limit_concurrent_sessions, limit_storage_bytes, limit_requests_per_minute, limit_requests_per_month FROM tenants WHERE id = ?',
  )
    .bind(id)
    .first()
}

async function updateEvents(tenantId: string) {
  const { results } = await env.DB.prepare("SELECT actor_type, details FROM audit_events WHERE tenant_id = ? AND action = 'tenant.update' ORDER BY seq")
    .bind(tenantId)
    .all<{ actor_type: string; details: string }>()
  return results.map((r) => ({ actor_type: r.actor_type, details: JSON.parse(r.details) }))
}

describe('PATCH /ops/v1/tenants/{id} limits', () => {
  it('sets overrides, shows them on the tenant, and audits each one from and to', async () => {
    const t = await tenantWithAdmin()
    const reply = await patch(t.id, { limits: { seats: 3, requests_per_minute: 0 } })
    expect(reply.status).toBe(200)
    expect(reply.body.limits).toEqual({ ...NO_OVERRIDES, seats: 3, requests_per_minute: 0 })
    expect((await call('GET', `/ops/v1/tenants/${t.id}`, { token: await operator() })).body.limits).toEqual(reply.body.limits)
    expect(await updateEvents(t.id)).toEqual([
      {
        actor_type: 'operator',
        details: { changes: { 'limits.seats': { from: null, to: 3 }, 'limits.requests_per_minute': { from: null, to: 0 } } },
      },
    ])
  })

  it('changes only the named limits, and null returns one to the plan’s', async () => {
    const t = await tenantWithAdmin()
    await patch(t.id, { limits: { seats: 3, storage_bytes: 10 } })
    const reply = await patch(t.id, { limits: { seats: null } })
    expect(reply.status).toBe(200)
    expect(reply.body.limits).toEqual({ ...NO_OVERRIDES, storage_bytes: 10 })
    expect((await updateEvents(t.id)).at(-1)!.details).toEqual({ changes: { 'limits.seats': { from: 3, to: null } } })
  })

  it('records nothing for a repeat of the limits in place', async () => {
    const t = await tenantWithAdmin()
    await patch(t.id, { limits: { seats: 4 } })
    const before = await tenantRow(t.id)
    expect((await patch(t.id, { limits: { seats: 4 } })).status).toBe(200)
    expect(await tenantRow(t.id)).toEqual(before)
    expect(await updateEvents(t.id)).toHaveLength(1)
  })

  it.each([
    ['a negative limit', { seats: -1 }, 'body.limits.seats'],
    ['a fraction', { storage_bytes: 1.5 }, 'body.limits.storage_bytes'],
    ['a string', { requests_per_month: '100' }, 'body.limits.requests_per_month'],
    ['an unknown limit', { cpu: 1 }, 'body.limits'],
    ['no limit at all', {}, 'body.limits'],
    ['more than the platform ceiling per minute', { requests_per_minute: 60_001 }, 'body.limits.requests_per_minute'],
    ['more seats than any contract holds', { seats: 100_001 }, 'body.limits.seats'],
  ])('refuses %s with 422 and changes nothing', async (_what, limits, path) => {
    const t = await tenantWithAdmin()
    const row = await tenantRow(t.id)
    const counts = await snapshotCounts()
    const reply = await patch(t.id, { limits })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors.map((e: { path: string }) => e.path)).toContain(path)
    expect(await tenantRow(t.id)).toEqual(row)
    expect(await snapshotCounts()).toEqual(counts)
  })

  it('refuses limits that are not an object, and answers 404 for an unknown tenant', async () => {
    const t = await tenantWithAdmin()
    expectProblem(await patch(t.id, { limits: [1] }), 422, 'validation')
    expectProblem(await patch(t.id, { limits: null }), 422, 'validation')
    expectProblem(await patch('tn_00000000000000000000000000', { limits: { seats: 1 } }), 404, 'not-found')
  })

  it('is for operators only: a tenant admin gets 401', async () => {
    const t = await tenantWithAdmin()
    expectProblem(await call('PATCH', `/ops/v1/tenants/${t.id}`, { token: t.adminToken, body: { limits: { seats: 1000 } } }), 401, 'unauthenticated')
    expect((await tenantRow(t.id))!.limit_seats).toBeNull()
  })
})

describe('the limits in force are what every check uses', () => {
  it('seats: an override below the plan refuses the next account; back to the plan, it is created', async () => {
    const t = await tenantWithAdmin()
    await userOf(t)
    await patch(t.id, { limits: { seats: 2 } })
    const create = (n: string) => call('POST', '/api/v1/users', { token: t.adminToken, body: { email: `${n}@${t.slug}.example`, name: n, role: 'member' } })
    const refused = await create('third')
    expect(expectProblem(refused, 409, 'seat-limit-reached').detail).toBe(
      'Your contract allows 2 active accounts and all are taken. Disable or delete one, or ask for a larger plan.',
    )
    await patch(t.id, { limits: { seats: null } })
    expect((await create('third')).status).toBe(201)
  })

  it('seats: an override above the plan lets a free tenant have more than five accounts', async () => {
    const t = await tenantWithAdmin('free')
    await patch(t.id, { limits: { seats: 6 } })
    for (let i = 0; i < 5; i++) {
      const reply = await call('POST', '/api/v1/users', { token: t.adminToken, body: { email: `u${i}@${t.slug}.example`, name: `U${i}`, role: 'member' } })
      expect(reply.status).toBe(201)
    }
    expectProblem(await call('POST', '/api/v1/users', { token: t.adminToken, body: { email: `u5@${t.slug}.example`, name: 'U5', role: 'member' } }), 409, 'seat-limit-reached')
  })

  it('concurrent sessions: a member holding none is refused once the contract’s sessions are in use', async () => {
    const t = await tenantWithAdmin()
    await userOf(t)
    await patch(t.id, { limits: { concurrent_sessions: 2 } })
    const created = await call('POST', '/api/v1/users', { token: t.adminToken, body: { email: `late@${t.slug}.example`, name: 'Late', role: 'member' } })
    expect(created.status).toBe(201)
    const login = () => call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: `late@${t.slug}.example`, password: created.body.temporary_password } })
    // Both sessions (the admin's, the first member's) are in use.
    expect(expectProblem(await login(), 409, 'session-limit').detail).toMatch(/allows 2 signed-in sessions at once/)
    await patch(t.id, { limits: { concurrent_sessions: 3 } })
    expect((await login()).body.status).toBe('password_change_required')
  })

  it('storage: a record over the contract’s quota is refused with 413 and stored nothing', async () => {
    const t = await tenantWithAdmin()
    await patch(t.id, { limits: { storage_bytes: 20 } })
    const refused = await call('POST', '/api/v1/records', { token: t.adminToken, body: { collection: 'notes', data: { text: 'more than twenty bytes of text' } } })
    expect(expectProblem(refused, 413, 'quota-exceeded')).toMatchObject({ quota_bytes: 20, used_bytes: 0 })
    expect((await env.DB.prepare('SELECT count(*) AS n FROM records WHERE tenant_id = ?').bind(t.id).first<{ n: number }>())!.n).toBe(0)
    await patch(t.id, { limits: { storage_bytes: 1000 } })
    expect((await call('POST', '/api/v1/records', { token: t.adminToken, body: { collection: 'notes', data: { text: 'more than twenty bytes of text' } } })).status).toBe(201)
  })

  it('requests: a new per-minute limit reaches the tenant’s sessions at once', async () => {
    const t = await tenantWithAdmin()
    await patch(t.id, { limits: { requests_per_minute: 0 } })
    expectProblem(await call('GET', '/api/v1/me', { token: t.adminToken }), 429, 'too-many-requests')
    await patch(t.id, { limits: { requests_per_minute: null } })
    expect((await call('GET', '/api/v1/me', { token: t.adminToken })).status).toBe(200)
  })

  it('a plan change reaches the tenant’s sessions at once too', async () => {
    const t = await tenantWithAdmin()
    const before = await call('GET', '/api/v1/me', { token: t.adminToken })
    expect(before.headers.get('RateLimit-Policy')).toMatch(/^"tenant-minute";q=600;/)
    await patch(t.id, { plan: 'enterprise' })
    expect((await call('GET', '/api/v1/me', { token: t.adminToken })).headers.get('RateLimit-Policy')).toMatch(/^"tenant-minute";q=3000;/)
  })
})
