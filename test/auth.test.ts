import { env, runInDurableObject } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { sessionStoreFor } from '../src/durable/session-store'
import { sha256Hex } from '../src/lib/digest'
import { BOOTSTRAP_TOKEN, OPERATOR, call, expectProblem, operator, signIn, snapshotCounts, tenantWithAdmin, type TestTenant } from './helpers'

let acme: TestTenant

beforeAll(async () => {
  acme = await tenantWithAdmin()
})

function withoutRequestId(body: Record<string, unknown>) {
  const { request_id: _ignored, ...rest } = body
  return rest
}

describe('tenant sign-in', () => {
  it('answers unknown tenant, unknown e-mail and wrong password identically', async () => {
    const attempts = [
      { tenant: 'no-such-tenant', email: acme.adminEmail, password: acme.adminPassword },
      { tenant: acme.slug, email: 'nobody@example.com', password: acme.adminPassword },
      { tenant: acme.slug, email: acme.adminEmail, password: 'not the password at all' },
    ]
    const replies = []
    for (const body of attempts) replies.push(await call('POST', '/api/v1/auth/login', { body }))
    for (const reply of replies) expectProblem(reply, 401, 'invalid-credentials')
    const shapes = replies.map((r) => ({
      status: r.status,
      body: withoutRequestId(r.body),
      headers: [...r.headers.entries()].filter(([k]) => k !== 'x-request-id' && k !== 'date'),
    }))
    expect(shapes[1]).toEqual(shapes[0])
    expect(shapes[2]).toEqual(shapes[0])
  })

  it('records every failed attempt with its real reason in the audit trail', async () => {
    const before = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_events WHERE action = 'auth.login' AND outcome = 'failure'",
    ).first<{ n: number }>()
    await call('POST', '/api/v1/auth/login', { body: { tenant: acme.slug, email: 'ghost@example.com', password: 'whatever-123' } })
    await call('POST', '/api/v1/auth/login', { body: { tenant: 'ghost-tenant', email: 'ghost@example.com', password: 'whatever-123' } })
    const rows = await env.DB.prepare(
      "SELECT chain, tenant_id, details FROM audit_events WHERE action = 'auth.login' AND outcome = 'failure' ORDER BY id DESC LIMIT 2",
    ).all<{ chain: string; tenant_id: string | null; details: string }>()
    const [platform, tenant] = rows.results
    expect(tenant).toMatchObject({ chain: acme.id, tenant_id: acme.id })
    expect(JSON.parse(tenant!.details)).toMatchObject({ reason: 'unknown_email', email: 'ghost@example.com' })
    expect(platform).toMatchObject({ chain: 'platform', tenant_id: null })
    expect(JSON.parse(platform!.details)).toMatchObject({ reason: 'unknown_tenant', tenant: 'ghost-tenant' })
    const after = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_events WHERE action = 'auth.login' AND outcome = 'failure'",
    ).first<{ n: number }>()
    expect(after!.n).toBe(before!.n + 2)
  })

  it('never stores or returns the password in the audit trail', async () => {
    const secret = 'my-very-secret-guess-42'
    await call('POST', '/api/v1/auth/login', { body: { tenant: acme.slug, email: acme.adminEmail, password: secret } })
    const hit = await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE details LIKE ?').bind(`%${secret}%`).first<{ n: number }>()
    expect(hit!.n).toBe(0)
  })

  it('matches e-mail addresses case-insensitively and the slug exactly', async () => {
    const token = await signIn(acme.slug, acme.adminEmail.toUpperCase(), acme.adminPassword)
    expect(token).toMatch(new RegExp(`^mt1\\.${acme.id}\\.0\\.[A-Za-z0-9_-]{43}$`))
  })

  it('survives a burst of 20 concurrent sign-ins with every one succeeding', async () => {
    const replies = await Promise.all(
      Array.from({ length: 20 }, () =>
        call('POST', '/api/v1/auth/login', { body: { tenant: acme.slug, email: acme.adminEmail, password: acme.adminPassword } }),
      ),
    )
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200))
    expect(new Set(replies.map((r) => r.body.token)).size).toBe(20)
  })

  it('refuses sign-in to a suspended tenant after the password is proven, and ends its sessions', async () => {
    const tenant = await tenantWithAdmin()
    const ops = await operator()
    const suspended = await call('PATCH', `/ops/v1/tenants/${tenant.id}`, { token: ops, body: { status: 'suspended' } })
    expect(suspended.status).toBe(200)
    expect(suspended.body.status).toBe('suspended')
    expectProblem(await call('GET', '/api/v1/me', { token: tenant.adminToken }), 401, 'unauthenticated')
    const login = await call('POST', '/api/v1/auth/login', {
      body: { tenant: tenant.slug, email: tenant.adminEmail, password: tenant.adminPassword },
    })
    expectProblem(login, 403, 'tenant-suspended')
    const wrong = await call('POST', '/api/v1/auth/login', {
      body: { tenant: tenant.slug, email: tenant.adminEmail, password: 'wrong password here' },
    })
    expectProblem(wrong, 401, 'invalid-credentials')
    const events = await call('GET', `/ops/v1/audit?tenant_id=${tenant.id}&action=tenant.update`, { token: ops })
    expect(events.body.items[0]).toMatchObject({
      actor_type: 'operator',
      details: { changes: { status: { from: 'active', to: 'suspended' } } },
    })
  })
})

describe('sessions', () => {
  it('ends the session on logout, and the token is dead on the next request', async () => {
    const token = await signIn(acme.slug, acme.adminEmail, acme.adminPassword)
    expect((await call('GET', '/api/v1/me', { token })).status).toBe(200)
    expect((await call('POST', '/api/v1/auth/logout', { token })).status).toBe(204)
    expectProblem(await call('GET', '/api/v1/me', { token }), 401, 'unauthenticated')
    const logout = await env.DB.prepare(
      "SELECT actor_id, target_type FROM audit_events WHERE action = 'auth.logout' AND tenant_id = ? ORDER BY id DESC LIMIT 1",
    )
      .bind(acme.id)
      .first()
    expect(logout).toEqual({ actor_id: acme.adminId, target_type: 'session' })
  })

  it('refuses sign-out to a password-change-only session, like every route but the password change', async () => {
    const tenant = await tenantWithAdmin()
    const reset = await call('POST', `/api/v1/users/${tenant.adminId}/reset-password`, { token: tenant.adminToken })
    const login = await call('POST', '/api/v1/auth/login', {
      body: { tenant: tenant.slug, email: tenant.adminEmail, password: reset.body.temporary_password },
    })
    expect(login.body.status).toBe('password_change_required')
    expectProblem(await call('POST', '/api/v1/auth/logout', { token: login.body.token }), 403, 'password-change-required')
  })

  it('stores session tokens only as SHA-256 hashes, nowhere in clear', async () => {
    const token = await signIn(acme.slug, acme.adminEmail, acme.adminPassword)
    const secret = token.split('.').at(-1)!
    const stored = await runInDurableObject(
      sessionStoreFor(env, { kind: 'tenant', tenantId: acme.id, shard: 0 }),
      (_instance, state) => state.storage.sql.exec<{ token_hash: string }>('SELECT token_hash FROM sessions').toArray(),
    )
    expect(stored.map((r) => r.token_hash)).toContain(await sha256Hex(token))
    expect(JSON.stringify(stored)).not.toContain(secret)
    const hit = await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE details LIKE ?').bind(`%${secret}%`).first<{ n: number }>()
    expect(hit!.n).toBe(0)
  })

  it('keeps the caller signed in on password change and ends every other session', async () => {
    const tenant = await tenantWithAdmin()
    const mine = await signIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
    const other = await signIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
    const changed = await call('POST', '/api/v1/auth/password', {
      token: mine,
      body: { current_password: tenant.adminPassword, new_password: 'an entirely new passphrase' },
    })
    expect(changed.status).toBe(200)
    expect((await call('GET', '/api/v1/me', { token: mine })).status).toBe(200)
    expectProblem(await call('GET', '/api/v1/me', { token: other }), 401, 'unauthenticated')
    expectProblem(await call('GET', '/api/v1/me', { token: tenant.adminToken }), 401, 'unauthenticated')
    await signIn(tenant.slug, tenant.adminEmail, 'an entirely new passphrase')
  })

  it('refuses a wrong current password with 422 on current_password and changes nothing', async () => {
    const token = await signIn(acme.slug, acme.adminEmail, acme.adminPassword)
    const hashBefore = await env.DB.prepare('SELECT password_hash FROM users WHERE id = ?').bind(acme.adminId).first()
    const reply = await call('POST', '/api/v1/auth/password', {
      token,
      body: { current_password: 'not my password', new_password: 'something long enough' },
    })
    const problem = expectProblem(reply, 422, 'validation')
    expect(problem.errors).toEqual([{ path: 'body.current_password', message: 'This is not your current password.' }])
    expect(await env.DB.prepare('SELECT password_hash FROM users WHERE id = ?').bind(acme.adminId).first()).toEqual(hashBefore)
  })

  it.each([
    ['too short', 'short7!', 'Use at least 8 characters.'],
    ['too long', 'x'.repeat(129), 'Use at most 128 characters.'],
  ])('refuses a new password that is %s', async (_label, newPassword, message) => {
    const token = await signIn(acme.slug, acme.adminEmail, acme.adminPassword)
    const reply = await call('POST', '/api/v1/auth/password', {
      token,
      body: { current_password: acme.adminPassword, new_password: newPassword },
    })
    expect(expectProblem(reply, 422, 'validation').errors).toEqual([{ path: 'body.new_password', message }])
  })

  it('accepts a 64-character passphrase of any characters, with no composition rules', async () => {
    const tenant = await tenantWithAdmin()
    const passphrase = 'すべての文字が使える長いパスフレーズ'.repeat(4).slice(0, 64)
    const token = await signIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
    const reply = await call('POST', '/api/v1/auth/password', {
      token,
      body: { current_password: tenant.adminPassword, new_password: passphrase },
    })
    expect(reply.status).toBe(200)
    await signIn(tenant.slug, tenant.adminEmail, passphrase)
  })

  it('rejects an operator token on tenant routes and a tenant token on operator routes', async () => {
    const ops = await operator()
    const tenantToken = await signIn(acme.slug, acme.adminEmail, acme.adminPassword)
    expectProblem(await call('GET', '/api/v1/me', { token: ops }), 401, 'unauthenticated')
    expectProblem(await call('GET', '/ops/v1/tenants', { token: tenantToken }), 401, 'unauthenticated')
  })
})

describe('operators', () => {
  it('refuses bootstrap with a wrong or missing token and records the attempt', async () => {
    const before = await snapshotCounts()
    expectProblem(await call('POST', '/ops/v1/bootstrap', { token: 'wrong-token-value-123', body: OPERATOR }), 401, 'invalid-bootstrap-token')
    expectProblem(await call('POST', '/ops/v1/bootstrap', { body: OPERATOR }), 401, 'invalid-bootstrap-token')
    const after = await snapshotCounts()
    expect(after).toEqual({ ...before, audit_events: before.audit_events! + 2 })
  })

  it('answers 409 to a second bootstrap even with the right token', async () => {
    await operator()
    expectProblem(await call('POST', '/ops/v1/bootstrap', { token: BOOTSTRAP_TOKEN, body: OPERATOR }), 409, 'already-bootstrapped')
  })

  it('gives operators the same single invalid-credentials answer', async () => {
    await operator()
    const unknown = await call('POST', '/ops/v1/auth/login', { body: { email: 'nobody@mamori.test', password: OPERATOR.password } })
    const wrong = await call('POST', '/ops/v1/auth/login', { body: { email: OPERATOR.email, password: 'wrong password' } })
    expectProblem(unknown, 401, 'invalid-credentials')
    expect(withoutRequestId(wrong.body)).toEqual(withoutRequestId(unknown.body))
  })

  it('lists the three seeded plans with their limits', async () => {
    const plans = await call('GET', '/ops/v1/plans', { token: await operator() })
    expect(plans.status).toBe(200)
    expect(plans.body.items.map((p: { id: string }) => p.id)).toEqual(['free', 'standard', 'enterprise'])
    expect(plans.body.items[0]).toEqual({
      id: 'free',
      name: 'Free',
      seats: 5,
      concurrent_sessions: 10,
      storage_bytes: 1073741824,
      requests_per_minute: 120,
      requests_per_month: 100000,
    })
  })

  it('refuses a duplicate tenant slug with 409 and creates nothing', async () => {
    const ops = await operator()
    const before = await snapshotCounts()
    const reply = await call('POST', '/ops/v1/tenants', {
      token: ops,
      body: { slug: acme.slug, name: 'Copy', plan: 'free', contact_email: 'c@example.com', admin: { email: 'a@example.com', name: 'A' } },
    })
    expectProblem(reply, 409, 'slug-taken')
    expect(await snapshotCounts()).toEqual(before)
  })

  it('lists tenants newest first with cursor paging', async () => {
    const ops = await operator()
    await tenantWithAdmin()
    await tenantWithAdmin()
    const first = await call('GET', '/ops/v1/tenants?limit=1', { token: ops })
    expect(first.body.items).toHaveLength(1)
    expect(first.body.next_cursor).toEqual(expect.any(String))
    const second = await call('GET', `/ops/v1/tenants?limit=1&cursor=${first.body.next_cursor}`, { token: ops })
    expect(second.body.items).toHaveLength(1)
    expect(second.body.items[0].id < first.body.items[0].id).toBe(true)
  })

  it('answers 404 for an unknown tenant id, well-formed or not', async () => {
    const ops = await operator()
    expectProblem(await call('GET', '/ops/v1/tenants/tn_00000000000000000000000000', { token: ops }), 404, 'not-found')
    expectProblem(await call('GET', '/ops/v1/tenants/nonsense', { token: ops }), 404, 'not-found')
    expectProblem(await call('PATCH', '/ops/v1/tenants/nonsense', { token: ops, body: { name: 'x' } }), 404, 'not-found')
  })
})
