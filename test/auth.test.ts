import { env, runInDurableObject } from 'cloudflare:test'
import { randomBytes as nodeRandomBytes, scryptSync } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { database } from '../src/db/client'
import { sessionStoreFor } from '../src/durable/session-store'
import { mac } from '../src/lib/crypto'
import { sha256Hex } from '../src/lib/digest'
import { rehashPassword } from '../src/services/passwords/password-rehash'
import { identifierMacKey } from '../src/services/keys/platform-keys'
import {
  BOOTSTRAP_TOKEN,
  OPERATOR,
  call,
  expectProblem,
  lastCode,
  lastMail,
  operator,
  operatorSignIn,
  signIn,
  snapshotCounts,
  strongPassword,
  tenantWithAdmin,
  uniqueSlug,
  userOf,
  type TestTenant,
} from './helpers'

let acme: TestTenant

beforeAll(async () => {
  acme = await tenantWithAdmin()
})

function withoutRequestId(body: Record<string, unknown>) {
  const { request_id: _ignored, ...rest } = body
  return rest
}

/** The keyed hash the audit trail keeps of a typed identifier that names nothing (field, normalised value). */
async function identifierHash(kind: 'tenant' | 'email', normalised: string) {
  return mac(await identifierMacKey(env), `${kind}:${normalised}`)
}

/** The newest auth.login failure's details on a chain. */
async function lastLoginFailure(chain: string) {
  const row = await env.DB.prepare(
    "SELECT details FROM audit_events WHERE chain = ? AND action = 'auth.login' AND outcome = 'failure' ORDER BY seq DESC LIMIT 1",
  )
    .bind(chain)
    .first<{ details: string }>()
  return row!.details
}

/** A stored hash in the service's format with the given (older) scrypt parameters. */
function scryptHash(password: string, ln: number, r: number, p: number) {
  const salt = nodeRandomBytes(16)
  const key = scryptSync(password.normalize('NFKC'), salt, 32, { N: 2 ** ln, r, p, maxmem: 128 * 2 ** ln * r + 1024 * 1024 })
  return `scrypt$ln=${ln},r=${r},p=${p}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

async function userRow(id: string) {
  return env.DB.prepare('SELECT password_hash, password_changed_at, must_change_password, updated_at FROM users WHERE id = ?')
    .bind(id)
    .first<{ password_hash: string; password_changed_at: string; must_change_password: number; updated_at: string }>()
}

async function eventsOf(chain: string, action: string, actorOrTarget: string) {
  const rows = await env.DB.prepare(
    'SELECT actor_id, target_id, outcome, details FROM audit_events WHERE chain = ? AND action = ? AND (actor_id = ? OR target_id = ?) ORDER BY seq',
  )
    .bind(chain, action, actorOrTarget, actorOrTarget)
    .all<{ actor_id: string | null; target_id: string | null; outcome: string; details: string }>()
  return rows.results.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }))
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
    expect(JSON.parse(tenant!.details)).toEqual({ reason: 'unknown_email', tenant: acme.slug, email_hmac: await identifierHash('email', 'ghost@example.com') })
    expect(platform).toMatchObject({ chain: 'platform', tenant_id: null })
    expect(JSON.parse(platform!.details)).toEqual({
      reason: 'unknown_tenant',
      tenant_hmac: await identifierHash('tenant', 'ghost-tenant'),
      email_hmac: await identifierHash('email', 'ghost@example.com'),
    })
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
    // A slug that is a prefix, an extension or a LIKE pattern of the real one names no tenant.
    for (const slug of [acme.slug.slice(0, -1), `${acme.slug}x`, `${acme.slug.slice(0, -1)}%`, `${acme.slug.slice(0, -1)}_`, `x${acme.slug}`]) {
      const reply = await call('POST', '/api/v1/auth/login', { body: { tenant: slug, email: acme.adminEmail, password: acme.adminPassword } })
      expectProblem(reply, 401, 'invalid-credentials')
      expect(JSON.parse(await lastLoginFailure('platform'))).toEqual({
        reason: 'unknown_tenant',
        tenant_hmac: await identifierHash('tenant', slug),
        email_hmac: await identifierHash('email', acme.adminEmail),
      })
    }
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
    const member = await userOf(tenant)
    const reset = await call('POST', `/api/v1/users/${member.id}/reset-password`, { token: tenant.adminToken })
    const login = await call('POST', '/api/v1/auth/login', {
      body: { tenant: tenant.slug, email: member.email, password: reset.body.temporary_password },
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

describe('a new tenant’s first admin sign-in (SE-26)', () => {
  async function createTenant() {
    const ops = await operator()
    const slug = uniqueSlug()
    const email = `first-admin@${slug}.example`
    const created = await call('POST', '/ops/v1/tenants', {
      token: ops,
      body: { slug, name: `Tenant ${slug}`, plan: 'standard', contact_email: `contact@${slug}.example`, admin: { email, name: 'First Admin' } },
    })
    expect(created.status).toBe(201)
    return { slug, email, id: created.body.tenant.id as string, adminId: created.body.admin.id as string, temporary: created.body.admin.temporary_password as string }
  }

  it('does not sign in with the temporary password the operator saw, only with it and a code mailed to the admin', async () => {
    const t = await createTenant()
    const login = await call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: t.email, password: t.temporary } })
    expect(login.status).toBe(200)
    // No token of any kind yet: the operator holding the password gets nowhere without the admin's mailbox.
    expect(login.body).toEqual({ status: 'mfa_required', challenge: expect.stringMatching(/^mc1\./), methods: ['email'] })
    expect((await lastMail(t.email))!.subject).toMatch(/^【Mamori】サインイン確認コード: \d{6}$/)
    const code = await lastCode(t.email)
    const wrong = code === '000000' ? '111111' : '000000'
    expectProblem(await call('POST', '/api/v1/auth/mfa', { body: { challenge: login.body.challenge, code: wrong } }), 401, 'mfa-failed')

    const done = await call('POST', '/api/v1/auth/mfa', { body: { challenge: login.body.challenge, code } })
    expect(done.status).toBe(200)
    expect(done.body).toEqual({ status: 'password_change_required', token: expect.any(String), expires_at: expect.any(String) })
    const flags = await env.DB.prepare('SELECT verify_email_at_sign_in, must_change_password FROM users WHERE id = ?').bind(t.adminId).first()
    expect(flags).toEqual({ verify_email_at_sign_in: 0, must_change_password: 1 })
    // Proving the mailbox enrolled no factor: nothing asked for one.
    expect((await env.DB.prepare('SELECT count(*) AS n FROM mfa_factors WHERE account_id = ?').bind(t.adminId).first<{ n: number }>())!.n).toBe(0)

    const password = strongPassword()
    const changed = await call('POST', '/api/v1/auth/password', { token: done.body.token, body: { current_password: t.temporary, new_password: password } })
    expect(changed.status).toBe(200)
    // Once the admin chose a password, sign-in is password-only again.
    await signIn(t.slug, t.email, password)
  })

  it('asks for the mailed code again at every sign-in until it has been answered once', async () => {
    const t = await createTenant()
    const first = await call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: t.email, password: t.temporary } })
    expect(first.body.status).toBe('mfa_required')
    const second = await call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: t.email, password: t.temporary } })
    expect(second.body).toEqual({ status: 'mfa_required', challenge: expect.any(String), methods: ['email'] })
    expect((await env.DB.prepare('SELECT verify_email_at_sign_in FROM users WHERE id = ?').bind(t.adminId).first())!).toEqual({ verify_email_at_sign_in: 1 })
  })
})

describe('what a failed sign-in leaves in the audit trail', () => {
  it('keeps only a keyed hash of an e-mail that names no account, the same for a repeat', async () => {
    // Someone typed their password into the e-mail field.
    const typed = 'Correct-Horse-Battery-Staple-42'
    const replies = []
    for (let i = 0; i < 2; i++) {
      replies.push(await call('POST', '/api/v1/auth/login', { body: { tenant: acme.slug, email: typed, password: 'whatever it was' } }))
    }
    for (const reply of replies) expectProblem(reply, 401, 'invalid-credentials')
    const rows = await env.DB.prepare(
      "SELECT details, request_id FROM audit_events WHERE chain = ? AND action = 'auth.login' AND outcome = 'failure' ORDER BY seq DESC LIMIT 2",
    )
      .bind(acme.id)
      .all<{ details: string; request_id: string }>()
    expect(rows.results.map((r) => r.request_id).sort()).toEqual(replies.map((r) => r.headers.get('X-Request-Id')).sort())
    const expected = { reason: 'unknown_email', tenant: acme.slug, email_hmac: await identifierHash('email', typed.toLowerCase()) }
    for (const row of rows.results) {
      expect(JSON.parse(row.details)).toEqual(expected)
      expect(row.details.toLowerCase()).not.toContain(typed.toLowerCase())
    }
    const anywhere = await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE lower(details) LIKE ?').bind(`%${typed.toLowerCase()}%`).first<{ n: number }>()
    expect(anywhere!.n).toBe(0)
  })

  it('keeps only keyed hashes of a tenant and e-mail that name nothing, on the platform chain', async () => {
    const tenant = 'Hunter2-Passphrase'
    const email = 'Another Secret 99'
    expectProblem(await call('POST', '/api/v1/auth/login', { body: { tenant, email, password: 'x'.repeat(12) } }), 401, 'invalid-credentials')
    const details = await lastLoginFailure('platform')
    expect(JSON.parse(details)).toEqual({
      reason: 'unknown_tenant',
      tenant_hmac: await identifierHash('tenant', tenant.toLowerCase()),
      email_hmac: await identifierHash('email', email.toLowerCase()),
    })
    for (const secret of [tenant, email]) expect(details.toLowerCase()).not.toContain(secret.toLowerCase())
  })

  it('names the account as stored when the e-mail exists and only the password was wrong', async () => {
    expectProblem(
      await call('POST', '/api/v1/auth/login', { body: { tenant: acme.slug.toUpperCase(), email: ` ${acme.adminEmail.toUpperCase()} `, password: 'not the password at all' } }),
      401,
      'invalid-credentials',
    )
    expect(JSON.parse(await lastLoginFailure(acme.id))).toEqual({ reason: 'wrong_password', tenant: acme.slug, email: acme.adminEmail })
  })

  it('keeps only a keyed hash of an e-mail that names no operator, and the operator’s address otherwise', async () => {
    await operator()
    const typed = 'Operator-Passphrase-In-The-Wrong-Field'
    expectProblem(await call('POST', '/ops/v1/auth/login', { body: { email: typed, password: OPERATOR.password } }), 401, 'invalid-credentials')
    const unknown = await lastLoginFailure('platform')
    expect(JSON.parse(unknown)).toEqual({ reason: 'unknown_email', email_hmac: await identifierHash('email', typed.toLowerCase()) })
    expect(unknown.toLowerCase()).not.toContain(typed.toLowerCase())
    expectProblem(await call('POST', '/ops/v1/auth/login', { body: { email: OPERATOR.email.toUpperCase(), password: 'wrong password' } }), 401, 'invalid-credentials')
    expect(JSON.parse(await lastLoginFailure('platform'))).toEqual({ reason: 'wrong_password', email: OPERATOR.email })
  })
})

describe('re-hashing after a scrypt parameter upgrade', () => {
  const OLD = { ln: 14, r: 8, p: 5 }

  it('signs in on the first try with a hash of older parameters, stores current ones, and audits the re-hash', async () => {
    const tenant = await tenantWithAdmin()
    await env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?').bind(scryptHash(tenant.adminPassword, OLD.ln, OLD.r, OLD.p), tenant.adminId).run()
    const before = (await userRow(tenant.adminId))!
    expect(before.password_hash).toMatch(/^scrypt\$ln=14,r=8,p=5\$/)

    const reply = await call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: tenant.adminEmail, password: tenant.adminPassword } })
    expect(reply.status).toBe(200)
    expect(reply.body.status).toBe('ok')
    expect((await call('GET', '/api/v1/me', { token: reply.body.token })).status).toBe(200)

    const after = (await userRow(tenant.adminId))!
    expect(after.password_hash).toMatch(/^scrypt\$ln=15,r=8,p=2\$[\w-]{22}\$[\w-]{43}$/)
    // Not a password change: the age, the forced-change flag and the row version stay.
    expect({ ...after, password_hash: null }).toEqual({ ...before, password_hash: null })

    const rehashes = await eventsOf(tenant.id, 'auth.password_rehash', tenant.adminId)
    expect(rehashes).toEqual([
      { actor_id: tenant.adminId, target_id: tenant.adminId, outcome: 'success', details: { from: 'ln=14,r=8,p=5', to: 'ln=15,r=8,p=2' } },
    ])
    const salts = [before, after].flatMap((row) => row.password_hash.split('$').slice(2))
    for (const part of salts) expect(JSON.stringify(rehashes)).not.toContain(part)

    // The upgraded hash is used from now on, with no further re-hash.
    await signIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
    expect(await eventsOf(tenant.id, 'auth.password_rehash', tenant.adminId)).toHaveLength(1)
    expect((await userRow(tenant.adminId))!.password_hash).toBe(after.password_hash)
  })

  it('lets concurrent first sign-ins after the upgrade all succeed, with one re-hash', async () => {
    const tenant = await tenantWithAdmin()
    await env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?').bind(scryptHash(tenant.adminPassword, OLD.ln, OLD.r, OLD.p), tenant.adminId).run()
    const replies = await Promise.all(
      Array.from({ length: 4 }, () =>
        call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: tenant.adminEmail, password: tenant.adminPassword } }),
      ),
    )
    expect(replies.map((r) => `${r.status}:${r.body.status}`)).toEqual(Array(4).fill('200:ok'))
    for (const reply of replies) expect((await call('GET', '/api/v1/me', { token: reply.body.token })).status).toBe(200)
    expect(await eventsOf(tenant.id, 'auth.password_rehash', tenant.adminId)).toHaveLength(1)
    expect((await userRow(tenant.adminId))!.password_hash).toMatch(/^scrypt\$ln=15,r=8,p=2\$/)
  })

  it('never writes a re-hash over a forced reset that committed after the sign-in read the old hash', async () => {
    const tenant = await tenantWithAdmin()
    const member = await userOf(tenant)
    const stale = scryptHash(member.password, OLD.ln, OLD.r, OLD.p)
    await env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?').bind(stale, member.id).run()
    const reset = await call('POST', `/api/v1/users/${member.id}/reset-password`, { token: tenant.adminToken })
    expect(reset.status).toBe(200)
    const afterReset = (await userRow(member.id))!
    // What the sign-in that verified the old password against `stale` writes next: nothing.
    const meta = { requestId: 'req_rehash-race', ip: null, userAgent: null }
    expect(await rehashPassword(env, database(env), meta, { type: 'user', id: member.id, tenantId: tenant.id, passwordHash: stale }, member.password)).toBeNull()
    expect(await userRow(member.id)).toEqual(afterReset)
    expect(await eventsOf(tenant.id, 'auth.password_rehash', member.id)).toEqual([])
    expectProblem(await call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: member.email, password: member.password } }), 401, 'invalid-credentials')
    const temporary = await call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: member.email, password: reset.body.temporary_password } })
    expect(temporary.body.status).toBe('password_change_required')
  })

  it('keeps a forced reset that races a re-hashing sign-in: the reset’s password works, the old one does not', async () => {
    const tenant = await tenantWithAdmin()
    const member = await userOf(tenant)
    // p=8 makes the old verify slow, so the reset commits while the sign-in is still between its read and its re-hash.
    await env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?').bind(scryptHash(member.password, 14, 8, 8), member.id).run()
    const [login, reset] = await Promise.all([
      call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: member.email, password: member.password } }),
      call('POST', `/api/v1/users/${member.id}/reset-password`, { token: tenant.adminToken }),
    ])
    expect(reset.status).toBe(200)
    // However the two interleave, no session of the old password outlives the reset.
    if (login.status === 200) expectProblem(await call('GET', '/api/v1/me', { token: login.body.token }), 401, 'unauthenticated')
    else expectProblem(login, 401, 'invalid-credentials')
    expectProblem(await call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: member.email, password: member.password } }), 401, 'invalid-credentials')
    const temporary = await call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: member.email, password: reset.body.temporary_password } })
    expect(temporary.body.status).toBe('password_change_required')
  })

  it('re-hashes an operator’s hash of older parameters at sign-in, audited on the platform chain', async () => {
    await operator()
    const op = (await env.DB.prepare('SELECT id FROM operators WHERE email = ?').bind(OPERATOR.email).first<{ id: string }>())!
    await env.DB.prepare('UPDATE operators SET password_hash = ? WHERE id = ?').bind(scryptHash(OPERATOR.password, OLD.ln, OLD.r, OLD.p), op.id).run()
    const token = await operatorSignIn()
    expect((await call('GET', '/ops/v1/plans', { token })).status).toBe(200)
    const stored = await env.DB.prepare('SELECT password_hash FROM operators WHERE id = ?').bind(op.id).first<{ password_hash: string }>()
    expect(stored!.password_hash).toMatch(/^scrypt\$ln=15,r=8,p=2\$/)
    expect(await eventsOf('platform', 'auth.password_rehash', op.id)).toEqual([
      { actor_id: op.id, target_id: op.id, outcome: 'success', details: { from: 'ln=14,r=8,p=5', to: 'ln=15,r=8,p=2' } },
    ])
  })
})

describe('resetting one’s own password', () => {
  it('refuses an admin’s forced reset of their own account with 403, changing nothing', async () => {
    const tenant = await tenantWithAdmin()
    const before = await userRow(tenant.adminId)
    const mails = await env.DB.prepare('SELECT count(*) AS n FROM mail_outbox WHERE to_address = ?').bind(tenant.adminEmail).first<{ n: number }>()
    const reply = await call('POST', `/api/v1/users/${tenant.adminId}/reset-password`, { token: tenant.adminToken })
    const problem = expectProblem(reply, 403, 'own-password-reset')
    expect(problem.detail).toContain('POST /api/v1/auth/password')
    expect(reply.body.temporary_password).toBeUndefined()
    expect(await userRow(tenant.adminId)).toEqual(before)
    expect((await call('GET', '/api/v1/me', { token: tenant.adminToken })).status).toBe(200)
    await signIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
    expect(await env.DB.prepare('SELECT count(*) AS n FROM mail_outbox WHERE to_address = ?').bind(tenant.adminEmail).first()).toEqual(mails)
    expect(await eventsOf(tenant.id, 'auth.password_reset', tenant.adminId)).toEqual([
      { actor_id: tenant.adminId, target_id: tenant.adminId, outcome: 'denied', details: { reason: 'own_account' } },
    ])
  })

  it('still lets an admin force-reset another admin', async () => {
    const tenant = await tenantWithAdmin()
    const other = await userOf(tenant, 'admin')
    const reply = await call('POST', `/api/v1/users/${other.id}/reset-password`, { token: tenant.adminToken })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ temporary_password: expect.any(String), sessions_revoked: 1 })
  })
})

describe('finishing a password-change-only session', () => {
  it('answers the password change with a new full token and ends the password-change-only one', async () => {
    const tenant = await tenantWithAdmin()
    const member = await userOf(tenant)
    const reset = await call('POST', `/api/v1/users/${member.id}/reset-password`, { token: tenant.adminToken })
    const first = await call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: member.email, password: reset.body.temporary_password } })
    expect(first.body.status).toBe('password_change_required')
    const changed = await call('POST', '/api/v1/auth/password', {
      token: first.body.token,
      body: { current_password: reset.body.temporary_password, new_password: strongPassword() },
    })
    expect(changed.status).toBe(200)
    expect(changed.headers.get('Cache-Control')).toBe('no-store')
    expect(changed.body).toEqual({
      status: 'ok',
      token: expect.stringMatching(new RegExp(`^mt1\\.${tenant.id}\\.0\\.[A-Za-z0-9_-]{43}$`)),
      expires_at: expect.any(String),
      user: expect.objectContaining({ id: member.id, must_change_password: false }),
    })
    expect(changed.body.token).not.toBe(first.body.token)
    expectProblem(await call('GET', '/api/v1/me', { token: first.body.token }), 401, 'unauthenticated')
    const me = await call('GET', '/api/v1/me', { token: changed.body.token })
    expect(me.status).toBe(200)
    const [event] = (await eventsOf(tenant.id, 'auth.password_change', member.id)).filter((e) => e.outcome === 'success').slice(-1)
    expect(event!.details).toEqual({ session_id: me.body.session.id, replaces_session_id: expect.stringMatching(/^ses_/) })
    expect(event!.details.replaces_session_id).not.toBe(me.body.session.id)
  })

  it('keeps a full session’s token on a password change, with no token in the answer', async () => {
    const tenant = await tenantWithAdmin()
    const token = await signIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
    const changed = await call('POST', '/api/v1/auth/password', { token, body: { current_password: tenant.adminPassword, new_password: strongPassword() } })
    expect(changed.status).toBe(200)
    expect(changed.body.token).toBeUndefined()
    expect((await call('GET', '/api/v1/me', { token })).status).toBe(200)
  })
})
