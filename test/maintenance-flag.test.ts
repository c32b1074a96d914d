import { createExecutionContext, createScheduledController, env, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { maintenanceFlagFor } from '../src/durable/maintenance-flag'
import { SYNC_INTERVAL_MS, sessionStoreFor } from '../src/durable/session-store'
import { database } from '../src/db/client'
import worker from '../src/index'
import { PUSHES_PER_RUN, pushWindowFlags } from '../src/services/operations/window-flags'
import { call, expectProblem, lastCode, operator, snapshotCounts, strongPassword, tenantWithAdmin, uniqueSlug, type Reply, type TestTenant } from './helpers'
import { freshIp, from, mailsTo } from './throttle-helpers'

/**
 * Maintenance mode (issue 9): the global flag (its Durable Object behind an
 * isolate cache of at most a second) and a tenant's flag (pushed into the
 * tenant's session store, pulled once a minute, read by sign-in from the
 * tenant row), both through HTTP; and the five-minute job turning a
 * window's flags on and off.
 */

const MIN = 60_000
const iso = (ms: number) => new Date(ms).toISOString()
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let ops: string
let a: TestTenant
let b: TestTenant

beforeAll(async () => {
  ops = await operator()
  a = await tenantWithAdmin()
  b = await tenantWithAdmin()
})

// The worker's isolate keeps its copy of the global flag: never leave it on for the next test (or file).
afterEach(async () => {
  await call('PUT', '/ops/v1/maintenance', { token: ops, body: { scope: 'global', enabled: false } })
  for (const t of [a, b]) await call('PUT', '/ops/v1/maintenance', { token: ops, body: { scope: 'tenant', tenant_id: t.id, enabled: false } })
})

function flip(body: Record<string, unknown>) {
  return call('PUT', '/ops/v1/maintenance', { token: ops, body })
}

const me = (t: TestTenant, headers?: Record<string, string>) => call('GET', '/api/v1/me', { token: t.adminToken, ...(headers ? { headers } : {}) })

const login = (t: TestTenant, password = t.adminPassword) => call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: t.adminEmail, password } })

/** A sign-in that works; signed out again at once, so the account's session cap never ends the admin's test session. */
async function loginOk(t: TestTenant) {
  const reply = await login(t)
  expect(reply.body.status).toBe('ok')
  expect((await call('POST', '/api/v1/auth/logout', { token: reply.body.token })).status).toBeLessThan(300)
}

/** A 503 `maintenance` problem with the operator's message and a Retry-After in [min, max] seconds. */
function expectMaintenance(reply: Reply, message: string, retryAfter: [number, number] = [300, 300]) {
  const problem = expectProblem(reply, 503, 'maintenance')
  expect(problem).toMatchObject({ title: 'Under maintenance', detail: message, message })
  const seconds = Number(reply.headers.get('Retry-After'))
  expect(seconds).toBeGreaterThanOrEqual(retryAfter[0])
  expect(seconds).toBeLessThanOrEqual(retryAfter[1])
  return problem
}

function storeOf(tenantId: string) {
  return sessionStoreFor(env, { kind: 'tenant', tenantId, shard: 0 })
}

/** Lets a minute pass for the tenant's sessions, as far as their last comparison with D1 goes. */
async function letAMinutePass(tenantId: string) {
  await runInDurableObject(storeOf(tenantId), (_instance, state) => {
    state.storage.sql.exec('UPDATE sessions SET synced_at = synced_at - ?', SYNC_INTERVAL_MS + 1000)
  })
}

async function flagEvents() {
  const { results } = await env.DB.prepare("SELECT chain, actor_type, actor_id, target_id, details FROM audit_events WHERE action = 'maintenance.flag_changed' ORDER BY id")
    .all<{ chain: string; actor_type: string; actor_id: string; target_id: string; details: string }>()
  return results.map((r) => ({ ...r, details: JSON.parse(r.details) }))
}

async function runCron(scheduledTime: number) {
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: '*/5 * * * *', scheduledTime }), env, ctx)
  await waitOnExecutionContext(ctx)
}

describe('the global flag', () => {
  it('refuses the very next tenant request with 503 maintenance, Retry-After and the message, and the next one after "off" works', async () => {
    expect((await me(a)).status).toBe(200)
    const on = await flip({ scope: 'global', enabled: true, message: 'Database upgrade, back soon.' })
    expect(on.status).toBe(200)
    expect(on.body).toMatchObject({ scope: 'global', tenant_id: null, enabled: true, in_force: true, message: 'Database upgrade, back soon.', until: null, window_id: null, updated_by: expect.stringMatching(/^operator:op_/) })
    expectMaintenance(await me(a), 'Database upgrade, back soon.')
    expectMaintenance(await me(b), 'Database upgrade, back soon.')
    // Sign-in and MFA too, before any D1 or Durable Object work.
    expectMaintenance(await login(a), 'Database upgrade, back soon.')
    expectMaintenance(await call('POST', '/api/v1/auth/mfa', { body: { challenge: 'x'.repeat(43), code: '123456' } }), 'Database upgrade, back soon.')
    expectMaintenance(await call('POST', '/api/v1/auth/password-reset', { body: { tenant: a.slug, email: a.adminEmail } }), 'Database upgrade, back soon.')

    expect((await flip({ scope: 'global', enabled: false })).body).toMatchObject({ enabled: false, in_force: false })
    expect((await me(a)).status).toBe(200)
    await loginOk(a)
  })

  it('answers a browser with a small HTML page (message escaped) and keeps JSON for everyone else', async () => {
    await flip({ scope: 'global', enabled: true, message: 'Back at <b>10:00</b> & later' })
    const page = await me(a, { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' })
    expect(page.status).toBe(503)
    expect(page.headers.get('Content-Type')).toMatch(/^text\/html/)
    expect(page.headers.get('Retry-After')).toBe('300')
    expect(page.body).toContain('Back at &#60;b&#62;10:00&#60;/b&#62; &#38; later')
    expect(page.body).not.toContain('<b>')
    expect(page.body).toContain(page.headers.get('X-Request-Id'))
    expectMaintenance(await me(a, { Accept: '*/*' }), 'Back at <b>10:00</b> & later')
  })

  it('leaves operators, health, status, help and the documents working, and /status shows it', async () => {
    await flip({ scope: 'global', enabled: true, message: 'Planned work', until: iso(Date.now() + 30 * MIN) })
    expect((await call('GET', '/ops/v1/maintenance', { token: ops })).status).toBe(200)
    expect((await call('GET', '/ops/v1/tenants', { token: ops })).status).toBe(200)
    expect((await call('GET', '/health/live')).status).toBe(200)
    expect((await call('GET', '/health/ready')).status).toBe(200)
    expect((await call('GET', '/openapi.json')).status).toBe(200)
    expect((await call('GET', '/help')).status).not.toBe(503)
    const status = await call('GET', '/status')
    expect(status.status).toBe(200)
    expect(status.body.maintenance).toEqual({ active: true, window_id: null, kind: 'maintenance', ends_at: expect.any(String), message: 'Planned work' })
    const html = await call('GET', '/status', { headers: { Accept: 'text/html' } })
    expect(html.body).toContain('Planned work')
  })

  it('ends by itself at `until`, counting Retry-After down to it', async () => {
    const until = Date.now() + 1500
    await flip({ scope: 'global', enabled: true, message: 'A short one', until: iso(until) })
    expectMaintenance(await me(a), 'A short one', [1, 2])
    await sleep(until - Date.now() + 50)
    expect((await me(a)).status).toBe(200)
  })

  it('reaches an isolate that did not make the change within a second (its copy is at most a second old)', async () => {
    expect((await me(a)).status).toBe(200)
    // Written straight into the object, as a PUT served in another location would.
    await maintenanceFlagFor(env).write({ enabled: true, message: 'Elsewhere', from: null, until: null, windowId: null, updatedBy: 'operator:elsewhere' })
    await sleep(1100)
    expectMaintenance(await me(a), 'Elsewhere')
    await maintenanceFlagFor(env).write({ enabled: false, message: null, from: null, until: null, windowId: null, updatedBy: 'operator:elsewhere' })
    await sleep(1100)
    expect((await me(a)).status).toBe(200)
  })
})

describe('a tenant flag', () => {
  it('refuses that tenant’s very next request and sign-in, and no other tenant’s', async () => {
    const on = await flip({ scope: 'tenant', tenant_id: a.id, enabled: true, message: 'Moving your data' })
    expect(on.body).toMatchObject({ scope: 'tenant', tenant_id: a.id, enabled: true, in_force: true, message: 'Moving your data', version: expect.any(Number) })
    expectMaintenance(await me(a), 'Moving your data')
    expectMaintenance(await call('GET', '/api/v1/records', { token: a.adminToken }), 'Moving your data')
    expectMaintenance(await login(a), 'Moving your data')
    // Only past the password: a wrong one still answers as for any tenant, so maintenance tells nobody which tenants exist.
    expectProblem(await login(a, 'not-the-password-at-all'), 401, 'invalid-credentials')
    expect((await me(b)).status).toBe(200)
    await loginOk(b)
    expect((await call('GET', '/health/live')).status).toBe(200)
    expect((await call('GET', '/status')).body.maintenance.active).toBe(false)

    await flip({ scope: 'tenant', tenant_id: a.id, enabled: false })
    expect((await me(a)).status).toBe(200)
    await loginOk(a)
  })

  it('refuses MFA without spending the challenge’s try: it still works once maintenance is over', async () => {
    const t = await tenantWithAdmin()
    expect((await call('PUT', '/api/v1/policy', { token: t.adminToken, body: { mfa_required: { admin: true } } })).status).toBe(200)
    const started = await login(t)
    expect(started.body.status).toBe('mfa_required')
    const code = await lastCode(t.adminEmail)
    await flip({ scope: 'tenant', tenant_id: t.id, enabled: true, message: 'Hold on' })
    expectMaintenance(await call('POST', '/api/v1/auth/mfa', { body: { challenge: started.body.challenge, code } }), 'Hold on')
    expect((await env.DB.prepare('SELECT attempts, consumed_at FROM mfa_challenges WHERE account_id = ? ORDER BY id DESC LIMIT 1').bind(t.adminId).first())).toEqual({ attempts: 0, consumed_at: null })
    await flip({ scope: 'tenant', tenant_id: t.id, enabled: false })
    const done = await call('POST', '/api/v1/auth/mfa', { body: { challenge: started.body.challenge, code } })
    expect(done.body.status).toBe('ok')
  })

  it('ends by itself at `until` in the session store and at sign-in', async () => {
    const until = Date.now() + 1500
    await flip({ scope: 'tenant', tenant_id: a.id, enabled: true, until: iso(until) })
    const problem = expectMaintenance(await me(a), `Mamori is under maintenance until ${iso(until)}. Please try again then.`, [1, 2])
    expect(problem.until).toBe(iso(until))
    await sleep(until - Date.now() + 50)
    expect((await me(a)).status).toBe(200)
    await loginOk(a)
  })

  it('converges within a minute when the push was lost, on and off, through the minute pull', async () => {
    // Turned on in D1 only, as a commit whose push failed leaves it.
    await env.DB.prepare(
      `INSERT INTO tenant_maintenance (tenant_id, enabled, message, version, updated_at, updated_by) VALUES (?, 1, 'Lost push', 1000, ?, 'operator:x')
       ON CONFLICT (tenant_id) DO UPDATE SET enabled = 1, message = 'Lost push', version = 1000`,
    )
      .bind(a.id, iso(Date.now()))
      .run()
    // Within the minute the session store still holds what it was last told.
    expect((await me(a)).status).toBe(200)
    await letAMinutePass(a.id)
    expectMaintenance(await me(a), 'Lost push')
    // A sign-in reads the tenant row itself: no minute to wait.
    expectMaintenance(await login(a), 'Lost push')

    await env.DB.prepare('UPDATE tenant_maintenance SET enabled = 0, version = 1001 WHERE tenant_id = ?').bind(a.id).run()
    expectMaintenance(await me(a), 'Lost push')
    await letAMinutePass(a.id)
    expect((await me(a)).status).toBe(200)
    expect((await me(b)).status).toBe(200)
  })

  it('gives a new session the flag as D1 holds it, so a lost "off" does not refuse it', async () => {
    await flip({ scope: 'tenant', tenant_id: a.id, enabled: true })
    await env.DB.prepare('UPDATE tenant_maintenance SET enabled = 0, version = version + 1 WHERE tenant_id = ?').bind(a.id).run()
    const fresh = await login(a)
    expect(fresh.body.status).toBe('ok')
    expect((await call('GET', '/api/v1/me', { token: fresh.body.token })).status).toBe(200)
    await call('POST', '/api/v1/auth/logout', { token: fresh.body.token })
  })
})

describe('a tenant flag and the self-service password reset', () => {
  const RESET_SUBJECT = /^【Mamori】パスワード再設定コード: (\d{8})$/
  const resetRequest = (slug: string, email: string) => call('POST', '/api/v1/auth/password-reset', { body: { tenant: slug, email }, headers: from(freshIp()) })
  const resetConfirm = (slug: string, email: string, code: string, password = strongPassword()) =>
    call('POST', '/api/v1/auth/password-reset/confirm', { body: { tenant: slug, email, code, new_password: password }, headers: from(freshIp()) })

  async function resetCodes(to: string) {
    return (await mailsTo(to)).map((m) => RESET_SUBJECT.exec(m.subject)?.[1]).filter((c): c is string => c !== undefined)
  }

  /** The reset code mailed to `to` after `already` earlier ones (the work runs after the answer). */
  async function nextCode(to: string, already = 0) {
    for (let i = 0; i < 100; i++) {
      const codes = await resetCodes(to)
      if (codes.length > already) return codes.at(-1)!
      await sleep(20)
    }
    throw new Error(`no reset code mailed to ${to}`)
  }

  async function requestedEvents(tenantId: string) {
    const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE chain = ? AND action = 'auth.password_reset_requested'").bind(tenantId).first<{ n: number }>()
    return row!.n
  }

  async function adminRow(t: TestTenant) {
    return env.DB.prepare('SELECT password_hash, password_changed_at, must_change_password, updated_at FROM users WHERE id = ?').bind(t.adminId).first()
  }

  it('answers a reset request 202 exactly as for an unknown tenant, and mails no code while the tenant is in maintenance', async () => {
    const t = await tenantWithAdmin()
    await flip({ scope: 'tenant', tenant_id: t.id, enabled: true, message: 'Resets wait' })
    try {
      const real = await resetRequest(t.slug, t.adminEmail)
      const unknown = await resetRequest(uniqueSlug('none'), t.adminEmail)
      expect([real, unknown].map((r) => ({ status: r.status, type: r.headers.get('Content-Type'), body: r.body }))).toEqual(
        Array(2).fill({ status: 202, type: 'application/json', body: { status: 'accepted' } }),
      )
      // The work runs after the answer: give it time to (not) queue the mail.
      await sleep(500)
      expect(await resetCodes(t.adminEmail)).toEqual([])
      expect(await requestedEvents(t.id)).toBe(0)
      expect(await env.DB.prepare("SELECT count(*) AS n FROM mfa_challenges WHERE account_id = ? AND purpose = 'password_reset'").bind(t.adminId).first()).toEqual({ n: 0 })
    } finally {
      await flip({ scope: 'tenant', tenant_id: t.id, enabled: false })
    }
    expect((await resetRequest(t.slug, t.adminEmail)).status).toBe(202)
    expect(await nextCode(t.adminEmail)).toMatch(/^\d{8}$/)
    expect(await requestedEvents(t.id)).toBe(1)
  })

  it('refuses a right reset code with 503 while the tenant is in maintenance, changing nothing; a wrong one answers 422 as before', async () => {
    const t = await tenantWithAdmin()
    expect((await resetRequest(t.slug, t.adminEmail)).status).toBe(202)
    const code = await nextCode(t.adminEmail)
    const before = await adminRow(t)
    await flip({ scope: 'tenant', tenant_id: t.id, enabled: true, message: 'Resets wait' })
    try {
      const wrong = expectProblem(await resetConfirm(t.slug, t.adminEmail, code === '00000000' ? '11111111' : '00000000'), 422, 'validation')
      const unknown = expectProblem(await resetConfirm(uniqueSlug('none'), t.adminEmail, code), 422, 'validation')
      expect(wrong.errors).toEqual(unknown.errors)
      expect(wrong.errors).toEqual([{ path: 'body.code', message: expect.any(String) }])
      expectMaintenance(await resetConfirm(t.slug, t.adminEmail, code), 'Resets wait')
      expect(await adminRow(t)).toEqual(before)
      expect(await env.DB.prepare("SELECT consumed_at FROM mfa_challenges WHERE account_id = ? AND purpose = 'password_reset'").bind(t.adminId).first()).toEqual({ consumed_at: null })
      const resets = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE chain = ? AND action = 'auth.password_reset'").bind(t.id).first()
      expect(resets).toEqual({ n: 0 })
    } finally {
      await flip({ scope: 'tenant', tenant_id: t.id, enabled: false })
    }
    // The code stays good for when maintenance is over.
    const done = await resetConfirm(t.slug, t.adminEmail, code)
    expect({ status: done.status, body: done.body }).toEqual({ status: 200, body: { status: 'ok', sessions_revoked: 1 } })
  })
})

describe('PUT /ops/v1/maintenance', () => {
  it('refuses bad input with 422 or 404 and changes nothing', async () => {
    const before = await snapshotCounts()
    const globalBefore = await maintenanceFlagFor(env).read()
    const bad: [Record<string, unknown>, number][] = [
      [{ scope: 'global', enabled: true, extra: 1 }, 422],
      [{ scope: 'tenant', enabled: true }, 422],
      [{ scope: 'global', tenant_id: a.id, enabled: true }, 422],
      [{ scope: 'everyone', enabled: true }, 422],
      [{ scope: 'global' }, 422],
      [{ scope: 'global', enabled: 'yes' }, 422],
      [{ scope: 'global', enabled: true, message: 'x'.repeat(501) }, 422],
      [{ scope: 'global', enabled: true, message: 'bell\u0007' }, 422],
      [{ scope: 'global', enabled: true, until: iso(Date.now() - 1000) }, 422],
      [{ scope: 'global', enabled: true, until: 'tomorrow' }, 422],
      [{ scope: 'tenant', tenant_id: 'tn_01hx0000000000000000000000', enabled: true }, 404],
      [{ scope: 'tenant', tenant_id: 'nonsense', enabled: true }, 404],
    ]
    for (const [body, status] of bad) {
      const reply = await flip(body)
      expectProblem(reply, status, status === 404 ? 'not-found' : 'validation')
    }
    expectProblem(await call('PUT', '/ops/v1/maintenance', { token: a.adminToken, body: { scope: 'global', enabled: true } }), 401, 'unauthenticated')
    expectProblem(await call('PUT', '/ops/v1/maintenance', { body: { scope: 'global', enabled: true } }), 401, 'unauthenticated')
    expect(await snapshotCounts()).toEqual(before)
    expect(await maintenanceFlagFor(env).read()).toEqual(globalBefore)
    expect((await me(a)).status).toBe(200)
  })

  it('audits every flip: the global one on the platform chain, a tenant’s on its own', async () => {
    const seen = (await flagEvents()).length
    await flip({ scope: 'global', enabled: true, message: 'Audited', until: iso(Date.now() + 10 * MIN) })
    await flip({ scope: 'tenant', tenant_id: b.id, enabled: true, message: 'Yours only' })
    const events = (await flagEvents()).slice(seen)
    expect(events).toEqual([
      {
        chain: 'platform',
        actor_type: 'operator',
        actor_id: expect.stringMatching(/^op_/),
        target_id: 'global',
        details: { scope: 'global', enabled: true, message: 'Audited', until: expect.any(String), version: expect.any(Number), previous: expect.objectContaining({ enabled: false }) },
      },
      {
        chain: b.id,
        actor_type: 'operator',
        actor_id: expect.stringMatching(/^op_/),
        target_id: b.id,
        details: { scope: 'tenant', enabled: true, message: 'Yours only', until: null, previous: expect.objectContaining({ enabled: false }) },
      },
    ])
  })

  it('GET lists the global flag, the tenant flags in force and the windows in force', async () => {
    await flip({ scope: 'tenant', tenant_id: b.id, enabled: true, message: 'B only' })
    const overview = await call('GET', '/ops/v1/maintenance', { token: ops })
    expect(overview.status).toBe(200)
    expect(overview.body.global).toMatchObject({ scope: 'global', enabled: false, in_force: false })
    expect(overview.body.tenants).toEqual([expect.objectContaining({ scope: 'tenant', tenant_id: b.id, in_force: true, message: 'B only' })])
    expect(overview.body.windows).toEqual([])
    expectProblem(await call('GET', '/ops/v1/maintenance', { token: a.adminToken }), 401, 'unauthenticated')
  })
})

describe('maintenance windows through the five-minute job', () => {
  it('turns a tenant window’s flags on at its start and off at its end; other tenants are unaffected', async () => {
    const now = Date.now()
    const created = await call('POST', '/ops/v1/maintenance-windows', {
      token: ops,
      body: { starts_at: iso(now), duration_minutes: 30, kind: 'maintenance', emergency: true, reason: 'Disk replacement', tenant_ids: [a.id], message: 'Window for A' },
    })
    expect(created.status).toBe(201)
    const id = created.body.id
    // A window that starts now is in force before the job runs: scheduling it wrote the flag, the one thing a request checks.
    expectMaintenance(await me(a), 'Window for A', [29 * 60, 30 * 60])
    await runCron(now)
    expectMaintenance(await me(a), 'Window for A', [29 * 60, 30 * 60])
    expectMaintenance(await login(a), 'Window for A', [29 * 60, 30 * 60])
    expect((await me(b)).status).toBe(200)
    const overview = await call('GET', '/ops/v1/maintenance', { token: ops })
    expect(overview.body.tenants).toEqual([expect.objectContaining({ tenant_id: a.id, window_id: id, in_force: true, until: created.body.ends_at })])
    expect(overview.body.windows).toEqual([expect.objectContaining({ window_id: id, tenant_ids: [a.id] })])

    await runCron(Date.parse(created.body.ends_at))
    expect((await me(a)).status).toBe(200)
    await loginOk(a)
    expect((await env.DB.prepare('SELECT enabled, window_id FROM tenant_maintenance WHERE tenant_id = ?').bind(a.id).first())).toEqual({ enabled: 0, window_id: id })
  })

  it('turns the global flag on for a window over every tenant, and off when it is ended early', async () => {
    const now = Date.now()
    const created = await call('POST', '/ops/v1/maintenance-windows', {
      token: ops,
      body: { starts_at: iso(now), duration_minutes: 60, kind: 'outage', emergency: true, reason: 'Provider outage', message: 'Everyone waits' },
    })
    expect(created.status).toBe(201)
    await runCron(now)
    expectMaintenance(await me(a), 'Everyone waits', [59 * 60, 60 * 60])
    expectMaintenance(await me(b), 'Everyone waits', [59 * 60, 60 * 60])
    expect((await call('GET', '/status')).body.maintenance).toEqual({ active: true, window_id: created.body.id, kind: 'outage', ends_at: created.body.ends_at, message: 'Everyone waits' })
    expect((await call('GET', '/ops/v1/maintenance', { token: ops })).body.global).toMatchObject({ in_force: true, window_id: created.body.id })
    // A second run of the same slot changes nothing.
    await runCron(now)
    expect((await maintenanceFlagFor(env).read()).version).toBe((await call('GET', '/ops/v1/maintenance', { token: ops })).body.global.version)

    expect((await call('DELETE', `/ops/v1/maintenance-windows/${created.body.id}`, { token: ops })).status).toBe(200)
    expect((await me(a)).status).toBe(200)
    expect((await call('GET', '/status')).body.maintenance.active).toBe(false)
  })

  /** A window starting `lead` ms from now; the job then runs at the slot four minutes before its start. */
  async function windowArmedAhead(body: Record<string, unknown>, lead = 2500) {
    const start = Date.now() + lead
    const created = await call('POST', '/ops/v1/maintenance-windows', {
      token: ops,
      body: { starts_at: iso(start), duration_minutes: 30, kind: 'maintenance', emergency: true, reason: 'Switch firmware', ...body },
    })
    expect(created.status).toBe(201)
    await runCron(start - 4 * MIN)
    return { id: created.body.id as string, start: Date.parse(created.body.starts_at), ends: created.body.ends_at as string }
  }

  async function armedEvents(windowId: string) {
    const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE action = 'maintenance.window_armed' AND target_id = ?").bind(windowId).first<{ n: number }>()
    return row!.n
  }

  it('arms a tenant window’s flags one run ahead with its start, so maintenance begins on the minute without another run', async () => {
    const t = await tenantWithAdmin()
    // Ten minutes ahead: past the next run, so scheduling arms nothing and the job does, at the slot four minutes before.
    const start = Date.now() + 10 * MIN
    const created = await call('POST', '/ops/v1/maintenance-windows', {
      token: ops,
      body: { starts_at: iso(start), duration_minutes: 30, kind: 'maintenance', emergency: true, reason: 'Switch firmware', tenant_ids: [t.id], message: 'On the minute' },
    })
    expect(created.status).toBe(201)
    const w = { id: created.body.id as string, start: Date.parse(created.body.starts_at), ends: created.body.ends_at as string }
    expect(await env.DB.prepare('SELECT count(*) AS n FROM tenant_maintenance WHERE tenant_id = ?').bind(t.id).first()).toEqual({ n: 0 })
    await runCron(w.start - 4 * MIN)
    const row = await env.DB.prepare('SELECT enabled, starts_at, until, window_id, message FROM tenant_maintenance WHERE tenant_id = ?').bind(t.id).first()
    expect(row).toEqual({ enabled: 1, starts_at: iso(w.start), until: w.ends, window_id: w.id, message: 'On the minute' })
    expect(await armedEvents(w.id)).toBe(1)
    // Stored, not yet in force: the tenant works until the start.
    expect((await me(t)).status).toBe(200)
    expect((await login(t)).body.status).toBe('ok')
    const overview = await call('GET', '/ops/v1/maintenance', { token: ops })
    expect(overview.body.tenants.filter((f: { tenant_id: string }) => f.tenant_id === t.id)).toEqual([
      expect.objectContaining({ enabled: true, in_force: false, starts_at: iso(w.start), until: w.ends, window_id: w.id }),
    ])
    // A second run of the same slot writes nothing.
    const version = (await env.DB.prepare('SELECT version FROM tenant_maintenance WHERE tenant_id = ?').bind(t.id).first<{ version: number }>())!.version
    await runCron(w.start - 4 * MIN)
    expect(await env.DB.prepare('SELECT version FROM tenant_maintenance WHERE tenant_id = ?').bind(t.id).first()).toEqual({ version })
    expect(await armedEvents(w.id)).toBe(1)
    expect((await env.DB.prepare('SELECT state FROM maintenance_windows WHERE id = ?').bind(w.id).first())).toEqual({ state: 'scheduled' })
    expect((await call('DELETE', `/ops/v1/maintenance-windows/${w.id}`, { token: ops })).status).toBe(200)
    expect(await env.DB.prepare('SELECT enabled FROM tenant_maintenance WHERE tenant_id = ?').bind(t.id).first()).toEqual({ enabled: 0 })
  })

  it('arms a tenant window that starts before the next run as it is scheduled: maintenance begins at its start with no run of the job', async () => {
    const t = await tenantWithAdmin()
    const start = Date.now() + 2500
    const created = await call('POST', '/ops/v1/maintenance-windows', {
      token: ops,
      body: { starts_at: iso(start), duration_minutes: 30, kind: 'maintenance', emergency: true, reason: 'Switch firmware', tenant_ids: [t.id], message: 'Right away' },
    })
    expect(created.status).toBe(201)
    const row = await env.DB.prepare('SELECT enabled, starts_at, until, window_id, message FROM tenant_maintenance WHERE tenant_id = ?').bind(t.id).first()
    expect(row).toEqual({ enabled: 1, starts_at: created.body.starts_at, until: created.body.ends_at, window_id: created.body.id, message: 'Right away' })
    const scheduled = await env.DB.prepare("SELECT details FROM audit_events WHERE action = 'maintenance.window_scheduled' AND target_id = ?").bind(created.body.id).first<{ details: string }>()
    expect(JSON.parse(scheduled!.details)).toMatchObject({ emergency: true, maintenance_flag: 'tenants' })
    expect((await me(t)).status).toBe(200)
    await sleep(Date.parse(created.body.starts_at) - Date.now() + 50)
    expectMaintenance(await me(t), 'Right away', [29 * 60, 30 * 60])
    expectMaintenance(await login(t), 'Right away', [29 * 60, 30 * 60])
    expect((await me(a)).status).toBe(200)
    expect((await call('DELETE', `/ops/v1/maintenance-windows/${created.body.id}`, { token: ops })).status).toBe(200)
    expect((await me(t)).status).toBe(200)
  })

  it('arms the global flag of a window over every tenant that starts before the next run as it is scheduled', async () => {
    const created = await call('POST', '/ops/v1/maintenance-windows', {
      token: ops,
      body: { starts_at: iso(Date.now() + 2500), duration_minutes: 30, kind: 'outage', emergency: true, reason: 'Provider outage', message: 'Everyone, right away' },
    })
    expect(created.status).toBe(201)
    expect((await call('GET', '/ops/v1/maintenance', { token: ops })).body.global).toMatchObject({ enabled: true, in_force: false, window_id: created.body.id })
    expect((await me(a)).status).toBe(200)
    await sleep(Date.parse(created.body.starts_at) - Date.now() + 50)
    expectMaintenance(await me(a), 'Everyone, right away', [29 * 60, 30 * 60])
    expect((await call('DELETE', `/ops/v1/maintenance-windows/${created.body.id}`, { token: ops })).status).toBe(200)
    expect((await me(a)).status).toBe(200)
  })

  it('lifts the armed flags when the window is cancelled before its start', async () => {
    const t = await tenantWithAdmin()
    const w = await windowArmedAhead({ tenant_ids: [t.id] })
    const cancelled = await call('DELETE', `/ops/v1/maintenance-windows/${w.id}`, { token: ops })
    expect(cancelled.body.state).toBe('cancelled')
    expect(await env.DB.prepare('SELECT enabled, window_id FROM tenant_maintenance WHERE tenant_id = ?').bind(t.id).first()).toEqual({ enabled: 0, window_id: w.id })
    await sleep(w.start - Date.now() + 50)
    expect((await me(t)).status).toBe(200)
  })

  it('arms the global flag one run ahead for a window over every tenant', async () => {
    const w = await windowArmedAhead({ message: 'Everyone, on the minute' })
    const global = (await call('GET', '/ops/v1/maintenance', { token: ops })).body.global
    expect(global).toMatchObject({ enabled: true, in_force: false, starts_at: iso(w.start), until: w.ends, window_id: w.id, message: 'Everyone, on the minute' })
    expect((await me(a)).status).toBe(200)
    await sleep(w.start - Date.now() + 50)
    expectMaintenance(await me(a), 'Everyone, on the minute', [29 * 60, 30 * 60])
    expectMaintenance(await me(b), 'Everyone, on the minute', [29 * 60, 30 * 60])
    expect((await call('DELETE', `/ops/v1/maintenance-windows/${w.id}`, { token: ops })).status).toBe(200)
    expect((await me(a)).status).toBe(200)
  })

  it('does not turn the global flag back on after an operator turned it off during the window', async () => {
    const now = Date.now()
    const created = await call('POST', '/ops/v1/maintenance-windows', {
      token: ops,
      body: { starts_at: iso(now), duration_minutes: 20, kind: 'maintenance', emergency: true, reason: 'Quick fix' },
    })
    await runCron(now)
    expectProblem(await me(a), 503, 'maintenance')
    await flip({ scope: 'global', enabled: false })
    expect((await me(a)).status).toBe(200)
    await runCron(now + 5 * MIN)
    expect((await me(a)).status).toBe(200)
    await call('DELETE', `/ops/v1/maintenance-windows/${created.body.id}`, { token: ops })
  })
})

describe('a window over many tenants', () => {
  it('pushes at most PUSHES_PER_RUN flags in one run, however many tenants it covers (the rest arrive with the minute pull)', async () => {
    const windowId = 'mw_pushlimit'
    const ids = Array.from({ length: PUSHES_PER_RUN + 50 }, (_, i) => `tn_push${String(i).padStart(22, '0')}`)
    const now = new Date().toISOString()
    await env.DB.prepare(
      `INSERT INTO tenants (id, slug, name, plan_id, status, contact_email, created_at, updated_at)
       SELECT value, 'push-' || key, 'Push', 'free', 'active', 'contact@push.example', ?, ? FROM json_each(?)`,
    )
      .bind(now, now, JSON.stringify(ids))
      .run()
    await env.DB.prepare(
      `INSERT INTO tenant_maintenance (tenant_id, enabled, message, starts_at, until, window_id, version, updated_at, updated_by)
       SELECT value, 1, 'm', ?, NULL, ?, 1, ?, 'test' FROM json_each(?)`,
    )
      .bind(now, windowId, now, JSON.stringify(ids))
      .run()
    expect(await pushWindowFlags(env, database(env), windowId)).toBe(PUSHES_PER_RUN)
  })
})
