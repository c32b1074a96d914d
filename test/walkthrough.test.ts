import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { BOOTSTRAP_TOKEN, OPERATOR, call, expectProblem, lastCode } from './helpers'

/**
 * The whole first day of a tenant, in order, as one story: each step uses
 * what the previous one returned.
 */
describe('walking skeleton', () => {
  const state: Record<string, any> = {}

  it('bootstraps the first operator once', async () => {
    const boot = await call('POST', '/ops/v1/bootstrap', { token: BOOTSTRAP_TOKEN, body: OPERATOR })
    expect(boot.status).toBe(201)
    expect(boot.body).toEqual({
      id: expect.stringMatching(/^op_/),
      email: OPERATOR.email,
      name: OPERATOR.name,
      status: 'active',
      created_at: expect.any(String),
      last_login_at: null,
      language: null,
    })
    const again = await call('POST', '/ops/v1/bootstrap', {
      token: BOOTSTRAP_TOKEN,
      body: { ...OPERATOR, email: 'second@mamori.test' },
    })
    expectProblem(again, 409, 'already-bootstrapped')
    const operators = await env.DB.prepare('SELECT email FROM operators').all()
    expect(operators.results).toEqual([{ email: OPERATOR.email }])
  })

  it('signs the operator in with a password and an e-mailed code', async () => {
    const login = await call('POST', '/ops/v1/auth/login', { body: { email: OPERATOR.email, password: OPERATOR.password } })
    expect(login.status).toBe(200)
    expect(login.body).toEqual({ status: 'mfa_required', challenge: expect.stringMatching(/^mc1\./), methods: ['email'] })
    const done = await call('POST', '/ops/v1/auth/mfa', { body: { challenge: login.body.challenge, code: await lastCode(OPERATOR.email) } })
    expect(done.status).toBe(200)
    expect(done.body).toMatchObject({ status: 'ok', token: expect.stringMatching(/^mo1\./), operator: { email: OPERATOR.email } })
    state.ops = done.body.token
  })

  it('creates a tenant whose admin gets a one-time temporary password', async () => {
    const created = await call('POST', '/ops/v1/tenants', {
      token: state.ops,
      body: {
        slug: 'acme',
        name: 'Acme KK',
        plan: 'standard',
        contact_email: 'it@acme.example',
        admin: { email: 'Admin@Acme.Example', name: 'Aiko Admin' },
      },
    })
    expect(created.status).toBe(201)
    expect(created.headers.get('Cache-Control')).toBe('no-store')
    expect(created.body.tenant).toMatchObject({ slug: 'acme', plan: 'standard', status: 'active', contact_email: 'it@acme.example' })
    expect(created.body.admin).toMatchObject({
      email: 'admin@acme.example',
      role: 'admin',
      must_change_password: true,
      permissions: ['audit:read', 'files:read', 'files:write', 'records:read', 'records:write'],
    })
    expect(created.body.admin.temporary_password).toMatch(/^[A-Za-z2-9]{20}$/)
    const stored = await env.DB.prepare('SELECT password_hash FROM users WHERE id = ?').bind(created.body.admin.id).first<{ password_hash: string }>()
    expect(stored!.password_hash).toMatch(/^scrypt\$ln=15,r=8,p=2\$/)
    expect(stored!.password_hash).not.toContain(created.body.admin.temporary_password)
    state.tenant = created.body.tenant
    state.temporary = created.body.admin.temporary_password
  })

  it('asks the admin for a code mailed to the admin, since the operator saw the temporary password', async () => {
    const login = await call('POST', '/api/v1/auth/login', {
      body: { tenant: 'acme', email: 'admin@acme.example', password: state.temporary },
    })
    expect(login.status).toBe(200)
    expect(login.body).toEqual({ status: 'mfa_required', challenge: expect.stringMatching(/^mc1\./), methods: ['email'] })
    state.challenge = login.body.challenge
  })

  it('makes the admin change the temporary password before anything else', async () => {
    const login = await call('POST', '/api/v1/auth/mfa', { body: { challenge: state.challenge, code: await lastCode('admin@acme.example') } })
    expect(login.status).toBe(200)
    expect(login.body).toEqual({ status: 'password_change_required', token: expect.any(String), expires_at: expect.any(String) })
    state.token = login.body.token

    expectProblem(await call('GET', '/api/v1/me', { token: state.token }), 403, 'password-change-required')
    expectProblem(await call('GET', '/api/v1/records', { token: state.token }), 403, 'password-change-required')

    const changed = await call('POST', '/api/v1/auth/password', {
      token: state.token,
      body: { current_password: state.temporary, new_password: 'a long and private passphrase' },
    })
    expect(changed.status).toBe(200)
    expect(changed.body).toMatchObject({ status: 'ok', token: expect.any(String), user: { email: 'admin@acme.example', must_change_password: false } })
    // The password-change-only token has ended; the full session is a new one.
    expectProblem(await call('GET', '/api/v1/me', { token: state.token }), 401, 'unauthenticated')
    state.token = changed.body.token

    const me = await call('GET', '/api/v1/me', { token: state.token })
    expect(me.status).toBe(200)
    expect(me.body).toMatchObject({ user: { role: 'admin' }, tenant: { slug: 'acme', name: 'Acme KK' } })

    const old = await call('POST', '/api/v1/auth/login', { body: { tenant: 'acme', email: 'admin@acme.example', password: state.temporary } })
    expectProblem(old, 401, 'invalid-credentials')
  })

  it('creates, reads, updates, lists and deletes records', async () => {
    const created = await call('POST', '/api/v1/records', {
      token: state.token,
      body: { collection: 'customers', data: { name: '株式会社サンプル', tier: 1 } },
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ id: expect.stringMatching(/^rec_/), collection: 'customers', data: { name: '株式会社サンプル', tier: 1 } })
    const id = created.body.id

    const read = await call('GET', `/api/v1/records/${id}`, { token: state.token })
    expect(read.status).toBe(200)
    expect(read.body).toEqual(created.body)

    const updated = await call('PUT', `/api/v1/records/${id}`, {
      token: state.token,
      body: { collection: 'customers', data: { name: '株式会社サンプル', tier: 2 } },
    })
    expect(updated.status).toBe(200)
    expect(updated.body).toMatchObject({ id, data: { tier: 2 }, created_at: created.body.created_at })
    state.updateRequestId = updated.headers.get('X-Request-Id')

    const list = await call('GET', '/api/v1/records?collection=customers', { token: state.token })
    expect(list.status).toBe(200)
    expect(list.body).toEqual({ items: [updated.body], next_cursor: null })

    const removed = await call('DELETE', `/api/v1/records/${id}`, { token: state.token })
    expect(removed.status).toBe(204)
    expectProblem(await call('GET', `/api/v1/records/${id}`, { token: state.token }), 404, 'not-found')
    const row = await env.DB.prepare('SELECT count(*) AS n FROM records WHERE id = ?').bind(id).first<{ n: number }>()
    expect(row!.n).toBe(0)
    state.recordId = id
  })

  it('finds the update in the audit trail by its request ID', async () => {
    const found = await call('GET', `/api/v1/audit?request_id=${state.updateRequestId}`, { token: state.token })
    expect(found.status).toBe(200)
    expect(found.body.next_cursor).toBeNull()
    expect(found.body.items).toHaveLength(1)
    expect(found.body.items[0]).toMatchObject({
      tenant_id: state.tenant.id,
      action: 'record.update',
      category: 'data_change',
      actor_type: 'user',
      target_type: 'record',
      target_id: state.recordId,
      request_id: state.updateRequestId,
      outcome: 'success',
      details: { collection: 'customers' },
    })
    const trail = await call('GET', '/api/v1/audit?limit=200', { token: state.token })
    expect(trail.body.items.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`).reverse()).toEqual([
      'tenant.create:success',
      'mfa.code_sent:success',
      'mfa.verified:success',
      'auth.login:success',
      'auth.password_change:success',
      'auth.login:failure',
      'record.create:success',
      'record.update:success',
      'record.delete:success',
    ])
    const verified = await call('GET', '/api/v1/audit/verify', { token: state.token })
    expect(verified.body).toMatchObject({ ok: true, checked: 9, problem: null })
  })
})
