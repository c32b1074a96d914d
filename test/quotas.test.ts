import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { SYNC_INTERVAL_MS, sessionStoreFor } from '../src/durable/session-store'
import { jstMonth } from '../src/lib/time'
import { call, expectProblem, operator, tenantWithAdmin, userOf, type TestTenant } from './helpers'

/**
 * Per-tenant and per-session request limits (SE-31/45/46, AV-11, PF-2),
 * counted inside the one SessionStore call every signed-in request makes.
 * Time is moved by editing the store's window (runInDurableObject), never
 * by sleeping.
 */

function store(tenantId: string) {
  return sessionStoreFor(env, { kind: 'tenant', tenantId, shard: 0 })
}

type MeterState = { state: { month: string; used: number; minute: { start: number; total: number } } }

/** Lets the tenant's current minute window end, as if a minute had passed. */
async function letTheMinuteEnd(tenantId: string) {
  await runInDurableObject(store(tenantId), (instance) => {
    ;(instance as unknown as { meter: MeterState }).meter.state.minute.start -= 60_000
  })
}

/** Starts the month's count afresh (the requests that set the tenant up used some of it). */
async function startTheMonthAfresh(tenantId: string) {
  await runInDurableObject(store(tenantId), (instance) => {
    const meter = (instance as unknown as { meter: MeterState }).meter
    meter.state.used = 0
    meter.state.minute.start -= 60_000
  })
}

async function setLimits(tenantId: string, limits: Record<string, number | null>) {
  const reply = await call('PATCH', `/ops/v1/tenants/${tenantId}`, { token: await operator(), body: { limits } })
  expect(reply.status).toBe(200)
  return reply
}

const me = (token: string) => call('GET', '/api/v1/me', { token })

async function statuses(token: string, n: number) {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push((await me(token)).status)
  return out
}

describe('per-tenant and per-session request limits', () => {
  it('serves exactly requests_per_minute a minute, half of them per session, then 429s with Retry-After and RateLimit fields', async () => {
    const t = await tenantWithAdmin()
    const a = await userOf(t)
    const b = await userOf(t)
    await setLimits(t.id, { requests_per_minute: 10 })
    await letTheMinuteEnd(t.id)

    expect(await statuses(a.token, 5)).toEqual([200, 200, 200, 200, 200])
    const sixth = await me(a.token)
    const session = expectProblem(sixth, 429, 'too-many-requests')
    expect(session.detail).toMatch(/^This session has made 5 requests this minute/)
    expect(Number(sixth.headers.get('Retry-After'))).toBeGreaterThanOrEqual(1)
    expect(Number(sixth.headers.get('Retry-After'))).toBeLessThanOrEqual(60)
    expect(sixth.headers.get('RateLimit-Policy')).toMatch(/^"tenant-minute";q=10;w=60, "session";q=5;w=60, "tenant-month";q=2000000;w=\d+$/)
    expect(sixth.headers.get('RateLimit')).toMatch(/^"tenant-minute";r=5;t=\d+, "session";r=0;t=\d+, "tenant-month";r=\d+;t=\d+$/)

    expect(await statuses(b.token, 5)).toEqual([200, 200, 200, 200, 200])
    const eleventh = await me(t.adminToken)
    expect(expectProblem(eleventh, 429, 'too-many-requests').detail).toMatch(/^Your organisation has made 10 requests this minute/)
    expect(eleventh.headers.get('RateLimit')).toMatch(/^"tenant-minute";r=0;t=\d+, "session";r=5;t=\d+/)
  })

  it('carries the RateLimit fields on every signed-in answer, counting down', async () => {
    const t = await tenantWithAdmin()
    await setLimits(t.id, { requests_per_minute: 40 })
    await letTheMinuteEnd(t.id)
    const first = await me(t.adminToken)
    const second = await me(t.adminToken)
    expect(first.headers.get('RateLimit')).toMatch(/^"tenant-minute";r=39;t=(59|60), "session";r=19;t=(59|60), /)
    expect(second.headers.get('RateLimit')).toMatch(/^"tenant-minute";r=38;t=\d+, "session";r=18;t=\d+, /)
  })

  it('refuses one tenant over its quota while another tenant is served as usual (AV-11)', async () => {
    const noisy = await tenantWithAdmin()
    const quiet = await tenantWithAdmin()
    await setLimits(noisy.id, { requests_per_minute: 4 })
    await letTheMinuteEnd(noisy.id)
    await letTheMinuteEnd(quiet.id)
    const quietBefore = (await me(quiet.adminToken)).headers.get('RateLimit')
    const flood = await statuses(noisy.adminToken, 30)
    expect(flood.slice(0, 2)).toEqual([200, 200])
    expect(flood.slice(2)).toEqual(Array(28).fill(429))
    const quietAfter = await me(quiet.adminToken)
    expect(quietAfter.status).toBe(200)
    // The quiet tenant's counts moved by its own one request, nothing else.
    expect(quietBefore).toMatch(/^"tenant-minute";r=599;/)
    expect(quietAfter.headers.get('RateLimit')).toMatch(/^"tenant-minute";r=598;/)
  })

  it('serves exactly requests_per_month, then 429s until next month; refused requests are not counted', async () => {
    const t = await tenantWithAdmin()
    await setLimits(t.id, { requests_per_month: 3 })
    await startTheMonthAfresh(t.id)
    expect(await statuses(t.adminToken, 3)).toEqual([200, 200, 200])
    const fourth = await me(t.adminToken)
    expect(expectProblem(fourth, 429, 'too-many-requests').detail).toMatch(/^Your organisation has used its monthly quota of 3 requests/)
    const retry = Number(fourth.headers.get('Retry-After'))
    expect(retry).toBeGreaterThan(0)
    expect(retry).toBeLessThanOrEqual(31 * 86_400)
    expect(fourth.headers.get('RateLimit')).toMatch(/"tenant-month";r=0;t=\d+$/)
    await letTheMinuteEnd(t.id)
    expect((await me(t.adminToken)).status).toBe(429)
    const used = await runInDurableObject(store(t.id), (instance) => (instance as unknown as { meter: MeterState }).meter.state.used)
    expect(used).toBe(3)
    // Raising the quota lets the tenant in again at once.
    await setLimits(t.id, { requests_per_month: 4 })
    expect((await me(t.adminToken)).status).toBe(200)
    expect((await me(t.adminToken)).status).toBe(429)
  })

  it('recovers within one minute once a flood stops (PF-2)', async () => {
    const t = await tenantWithAdmin()
    await setLimits(t.id, { requests_per_minute: 6 })
    await letTheMinuteEnd(t.id)
    const flood = await statuses(t.adminToken, 40)
    expect(flood.filter((s) => s === 200)).toHaveLength(3)
    const refused = await me(t.adminToken)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('Retry-After'))).toBeLessThanOrEqual(60)
    // The refused requests did not extend the window: a minute after it opened, service is back.
    await letTheMinuteEnd(t.id)
    expect(await statuses(t.adminToken, 3)).toEqual([200, 200, 200])
  })

  it('applies the platform ceiling to a shard whatever the tenant’s limits say', async () => {
    const t = await tenantWithAdmin()
    await runInDurableObject(store(t.id), (instance) => {
      const meter = (instance as unknown as { meter: MeterState & { quota: { perMinute: number } } }).meter
      meter.quota.perMinute = 10 ** 9
      meter.state.minute = { start: Date.now(), total: 60_000 }
    })
    const reply = await me(t.adminToken)
    expect(expectProblem(reply, 429, 'too-many-requests').detail).toMatch(/platform\u2019s ceiling of 60000 requests a minute/)
    expect(reply.headers.get('RateLimit-Policy')).toMatch(/^"platform";q=60000;w=60/)
  })

  it('takes over limits whose push failed with the session’s next pull of its account state (within a minute)', async () => {
    const t = await tenantWithAdmin()
    // Committed to D1 only, as a failed push would leave it (updated_at moves, as every tenant change moves it).
    await env.DB.prepare('UPDATE tenants SET limit_requests_per_minute = 7, updated_at = ? WHERE id = ?').bind(new Date().toISOString(), t.id).run()
    expect((await me(t.adminToken)).headers.get('RateLimit-Policy')).toMatch(/^"tenant-minute";q=600;/)
    await runInDurableObject(store(t.id), (_instance, state) => {
      state.storage.sql.exec('UPDATE sessions SET synced_at = synced_at - ?', SYNC_INTERVAL_MS + 1000)
    })
    expect((await me(t.adminToken)).headers.get('RateLimit-Policy')).toMatch(/^"tenant-minute";q=7;w=60, "session";q=4;/)
  })

  it('counts operators’ requests against nothing (their store holds no tenant)', async () => {
    const ops = await operator()
    const reply = await call('GET', '/ops/v1/plans', { token: ops })
    expect(reply.status).toBe(200)
    expect(reply.headers.get('RateLimit')).toBeNull()
  })
})

describe('monthly usage in D1 and its alert mails', () => {
  async function mailsTo(t: TestTenant) {
    const { results } = await env.DB.prepare(
      "SELECT to_address, subject, dedupe_key FROM mail_outbox WHERE tenant_id = ? AND dedupe_key LIKE 'usage-alert:%' ORDER BY id",
    )
      .bind(t.id)
      .all<{ to_address: string; subject: string; dedupe_key: string }>()
    return results
  }

  async function alertEvents(t: TestTenant) {
    const { results } = await env.DB.prepare("SELECT details FROM audit_events WHERE tenant_id = ? AND action = 'tenant.usage_alert' ORDER BY seq")
      .bind(t.id)
      .all<{ details: string }>()
    return results.map((r) => JSON.parse(r.details))
  }

  /** The alert goes out after the response: wait for it to land. */
  async function eventually<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
    for (let i = 0; i < 100; i++) {
      const v = await read()
      if (done(v)) return v
      await new Promise((r) => setTimeout(r, 20))
    }
    return read()
  }

  it('mails the admins and the contact once at 80 % and once at 100 % of the monthly quota, audited', async () => {
    const t = await tenantWithAdmin()
    const second = await userOf(t, 'admin')
    await setLimits(t.id, { requests_per_month: 5 })
    await startTheMonthAfresh(t.id)
    const month = jstMonth()
    expect(await statuses(t.adminToken, 3)).toEqual([200, 200, 200])
    expect(await mailsTo(t)).toEqual([])
    expect((await me(t.adminToken)).status).toBe(200) // 4 of 5: 80 %
    const at80 = await eventually(() => mailsTo(t), (m) => m.length === 3)
    const contact = `contact@${t.slug}.example`
    const key80 = `usage-alert:${t.id}:${month}:80:5`
    expect(new Map(at80.map((m) => [m.to_address, m.dedupe_key]))).toEqual(
      new Map([
        [contact, key80],
        [t.adminEmail, `${key80}:${t.adminEmail}`],
        [second.email, `${key80}:${second.email}`],
      ]),
    )
    expect(at80.map((m) => m.subject)).toEqual(Array(3).fill(`【Mamori】Tenant ${t.slug} の今月のリクエスト数が上限の 80% に達しました（${Number(month.slice(0, 4))}年${Number(month.slice(5))}月）`))
    expect((await me(second.token)).status).toBe(200) // 5 of 5: 100 %
    const at100 = await eventually(() => mailsTo(t), (m) => m.length === 6)
    expect(at100.slice(3).map((m) => m.subject)).toEqual(Array(3).fill(`【Mamori】Tenant ${t.slug} の今月のリクエスト数が上限に達しました（${Number(month.slice(0, 4))}年${Number(month.slice(5))}月）`))
    // Refused requests after that mail nothing more.
    expect((await me(t.adminToken)).status).toBe(429)
    expect((await me(second.token)).status).toBe(429)
    await new Promise((r) => setTimeout(r, 200))
    expect(await mailsTo(t)).toHaveLength(6)
    expect(await alertEvents(t)).toEqual([
      { month, level: 80, used: 4, limit: 5, recipients: 3 },
      { month, level: 100, used: 5, limit: 5, recipients: 3 },
    ])
  })

  it('never sends an alert twice, even when the store signals it again (a lost confirmation)', async () => {
    const t = await tenantWithAdmin()
    await setLimits(t.id, { requests_per_month: 10 })
    await startTheMonthAfresh(t.id)
    expect(await statuses(t.adminToken, 8)).toEqual(Array(8).fill(200))
    await eventually(() => mailsTo(t), (m) => m.length === 2)
    // Forget the confirmation, as if the store had restarted before it arrived, and let the retry delay pass.
    await runInDurableObject(store(t.id), (instance) => {
      const meter = instance as unknown as { meter: { state: { alerted: unknown }; alertSignalled: unknown } }
      meter.meter.state.alerted = null
      meter.meter.alertSignalled = null
    })
    expect((await me(t.adminToken)).status).toBe(200)
    await new Promise((r) => setTimeout(r, 300))
    expect(await mailsTo(t)).toHaveLength(2)
    expect(await alertEvents(t)).toHaveLength(1)
  })

  it('writes the month’s count to D1 from the store’s alarm, not on each request', async () => {
    const t = await tenantWithAdmin()
    await startTheMonthAfresh(t.id)
    expect(await statuses(t.adminToken, 7)).toEqual(Array(7).fill(200))
    const row = () =>
      env.DB.prepare('SELECT requests FROM tenant_usage WHERE tenant_id = ? AND month = ? AND shard = 0').bind(t.id, jstMonth()).first<{ requests: number }>()
    // The row the tenant's creation made, untouched by the requests themselves.
    expect(await row()).toEqual({ requests: 0 })
    // The tick the first counted request scheduled: into the store's storage, and (first flush) into D1.
    expect(await runDurableObjectAlarm(store(t.id))).toBe(true)
    expect(await row()).toEqual({ requests: 7 })
    const stored = await runInDurableObject(store(t.id), (_instance, state) => state.storage.kv.get<{ used: number }>('usage'))
    expect(stored?.used).toBe(7)
    // Within the minute after a flush, a tick only persists; D1 hears of the new count a minute later.
    expect(await statuses(t.adminToken, 2)).toEqual([200, 200])
    await runDurableObjectAlarm(store(t.id))
    expect(await row()).toEqual({ requests: 7 })
    await runInDurableObject(store(t.id), (instance) => {
      ;(instance as unknown as { meter: { lastFlushAt: number } }).meter.lastFlushAt -= 60_000
    })
    expect(await runDurableObjectAlarm(store(t.id))).toBe(true)
    expect(await row()).toEqual({ requests: 9 })
  })
})

describe('the usage document', () => {
  it('shows a tenant admin requests, storage, seats and sessions against the limits in force', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    await call('POST', '/api/v1/records', { token: member.token, body: { collection: 'notes', data: { n: 1 } } })
    await setLimits(t.id, { seats: 7 })
    await startTheMonthAfresh(t.id)
    expect(await statuses(member.token, 2)).toEqual([200, 200])
    const storage = (await env.DB.prepare('SELECT storage_used_bytes AS n FROM tenants WHERE id = ?').bind(t.id).first<{ n: number }>())!.n
    const reply = await call('GET', '/api/v1/usage', { token: t.adminToken })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({
      tenant_id: t.id,
      plan: 'standard',
      month: jstMonth(),
      requests: {
        minute: { used: 3, limit: 600, source: 'plan' },
        month: { used: 3, limit: 2_000_000, source: 'plan' },
      },
      storage_bytes: { used: storage, limit: 53_687_091_200, source: 'plan' },
      seats: { used: 2, limit: 7, source: 'contract' },
      sessions: { used: 2, limit: 100, source: 'plan' },
    })
    expect(storage).toBeGreaterThan(0)
  })

  it('shows an operator the same document for any tenant', async () => {
    const t = await tenantWithAdmin()
    await setLimits(t.id, { requests_per_minute: 50, concurrent_sessions: 9 })
    const reply = await call('GET', `/ops/v1/tenants/${t.id}/usage`, { token: await operator() })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({
      tenant_id: t.id,
      requests: { minute: { limit: 50, source: 'contract' }, month: { limit: 2_000_000, source: 'plan' } },
      seats: { used: 1, limit: 50, source: 'plan' },
      sessions: { used: 1, limit: 9, source: 'contract' },
    })
  })

  it('refuses members with 403, and answers 404 for unknown tenants and 401 for tenant tokens on the operator route', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    expectProblem(await call('GET', '/api/v1/usage', { token: member.token }), 403, 'forbidden')
    const ops = await operator()
    expectProblem(await call('GET', '/ops/v1/tenants/tn_00000000000000000000000000/usage', { token: ops }), 404, 'not-found')
    expectProblem(await call('GET', '/ops/v1/tenants/nonsense/usage', { token: ops }), 404, 'not-found')
    expectProblem(await call('GET', `/ops/v1/tenants/${t.id}/usage`, { token: t.adminToken }), 401, 'unauthenticated')
  })

  it('shows the limits in force in the account ledger', async () => {
    const t = await tenantWithAdmin()
    await setLimits(t.id, { storage_bytes: 1234 })
    const reply = await call('GET', '/api/v1/ledger', { token: t.adminToken })
    expect(reply.status).toBe(200)
    expect(reply.body.plan).toBe('standard')
    expect(reply.body.limits).toEqual({
      seats: { limit: 50, source: 'plan' },
      concurrent_sessions: { limit: 100, source: 'plan' },
      storage_bytes: { limit: 1234, source: 'contract' },
      requests_per_minute: { limit: 600, source: 'plan' },
      requests_per_month: { limit: 2_000_000, source: 'plan' },
    })
  })
})

