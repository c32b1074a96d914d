import { env, runInDurableObject } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { sessionStoreFor } from '../src/durable/session-store'
import { call, expectProblem, signIn, strongPassword, tenantWithAdmin, userOf, type TestTenant, type TestUser } from './helpers'

/**
 * Concurrent sessions (EX-3, issue 7 defect 4): the plan's limit for the
 * whole tenant, the policy's per-account cap, and the rule that members can
 * never fill the tenant so that no admin can sign in to end their sessions.
 */

type AuditRow = { actor_id: string | null; action: string; category: string; target_type: string | null; target_id: string | null; outcome: string; details: any }

async function eventsOf(tenantId: string, action: string): Promise<AuditRow[]> {
  const rows = await env.DB.prepare(
    `SELECT actor_id, action, category, target_type, target_id, outcome, details FROM audit_events WHERE chain = ? AND action = ? ORDER BY seq`,
  )
    .bind(tenantId, action)
    .all<Omit<AuditRow, 'details'> & { details: string }>()
  return rows.results.map((r) => ({ ...r, details: JSON.parse(r.details) }))
}

function login(t: TestTenant, email: string, password: string) {
  return call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email, password } })
}

async function sessionIdOf(token: string): Promise<string> {
  const me = await call('GET', '/api/v1/me', { token })
  expect(me.status).toBe(200)
  return me.body.session.id
}

async function alive(token: string) {
  return (await call('GET', '/api/v1/me', { token })).status === 200
}

/** The session ids of one account, oldest first, as the store holds them. */
async function sessionsOf(t: TestTenant, actorId: string): Promise<string[]> {
  return runInDurableObject(sessionStoreFor(env, { kind: 'tenant', tenantId: t.id, shard: 0 }), (_instance, state) =>
    state.storage.sql
      .exec<{ id: string }>('SELECT id FROM sessions WHERE actor_id = ? ORDER BY created_at, id', actorId)
      .toArray()
      .map((r) => r.id),
  )
}

async function liveCount(t: TestTenant): Promise<number> {
  return runInDurableObject(sessionStoreFor(env, { kind: 'tenant', tenantId: t.id, shard: 0 }), (_instance, state) =>
    Number(state.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM sessions').one().n),
  )
}

/** Signs `user` in until it holds `n` sessions (its first one, from userOf, included); returns every token, oldest first. */
async function holdSessions(t: TestTenant, user: TestUser, n: number): Promise<string[]> {
  const tokens = [user.token]
  while (tokens.length < n) tokens.push(await signIn(t.slug, user.email, user.password))
  return tokens
}

const FULL_DETAIL =
  'Your organisation\u2019s plan allows 10 signed-in sessions at once, and all are in use. Sign out elsewhere, or ask an admin to end a session.'

describe('the per-account session cap (policy sessions_per_account)', () => {
  it('ends a member’s own oldest session at the 6th sign-in under the default cap of 5, instead of refusing it', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const tokens = await holdSessions(t, member, 5)
    const oldest = await sessionIdOf(tokens[0]!)
    const sixth = await login(t, member.email, member.password)
    expect({ status: sixth.status, login: sixth.body.status }).toEqual({ status: 200, login: 'ok' })
    expectProblem(await call('GET', '/api/v1/me', { token: tokens[0]! }), 401, 'unauthenticated')
    for (const token of tokens.slice(1)) expect(await alive(token)).toBe(true)
    expect(await alive(sixth.body.token)).toBe(true)
    expect(await sessionsOf(t, member.id)).toHaveLength(5)
    const evicted = await eventsOf(t.id, 'session.evicted')
    expect(evicted).toEqual([
      {
        actor_id: member.id,
        action: 'session.evicted',
        category: 'authentication',
        target_type: 'session',
        target_id: oldest,
        outcome: 'success',
        details: { reason: 'account_limit', user_id: member.id, by_session: await sessionIdOf(sixth.body.token) },
      },
    ])
  })

  it('follows the policy’s lower cap: at 2, the 3rd sign-in ends the oldest', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    expect((await call('PUT', '/api/v1/policy', { token: t.adminToken, body: { sessions_per_account: 2 } })).status).toBe(200)
    const [first, second] = await holdSessions(t, member, 2)
    const third = await signIn(t.slug, member.email, member.password)
    expect(await alive(first!)).toBe(false)
    expect(await alive(second!)).toBe(true)
    expect(await alive(third)).toBe(true)
    expect(await sessionsOf(t, member.id)).toHaveLength(2)
  })

  it('never lets a burst of concurrent sign-ins of one account exceed its cap', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    const replies = await Promise.all(Array.from({ length: 8 }, () => login(t, member.email, member.password)))
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200))
    expect(await sessionsOf(t, member.id)).toHaveLength(5)
    expect((await eventsOf(t.id, 'session.evicted')).length).toBe(4)
  })

  it('leaves other accounts’ sessions alone when an account hits its cap', async () => {
    const t = await tenantWithAdmin()
    const a = await userOf(t)
    const b = await userOf(t)
    await holdSessions(t, a, 5)
    await signIn(t.slug, a.email, a.password)
    expect(await alive(b.token)).toBe(true)
    expect(await alive(t.adminToken)).toBe(true)
  })
})

describe('finishing a password-change-only session under sessions_per_account = 1', () => {
  /** A member of a tenant capped at one session per account, signed in on a temporary password. */
  async function onTemporaryPassword() {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    expect((await call('PUT', '/api/v1/policy', { token: t.adminToken, body: { sessions_per_account: 1 } })).status).toBe(200)
    const reset = await call('POST', `/api/v1/users/${member.id}/reset-password`, { token: t.adminToken })
    expect(reset.status).toBe(200)
    const first = await login(t, member.email, reset.body.temporary_password)
    expect(first.body.status).toBe('password_change_required')
    const [oldId] = await sessionsOf(t, member.id)
    expect(await sessionsOf(t, member.id)).toEqual([oldId])
    return { t, member, temporary: reset.body.temporary_password as string, oldToken: first.body.token as string, oldId: oldId! }
  }

  async function userRow(id: string) {
    return env.DB.prepare('SELECT password_hash, password_changed_at, must_change_password FROM users WHERE id = ?').bind(id).first()
  }

  it('leaves exactly the replacement: the old token is dead and the new one works', async () => {
    const { t, member, temporary, oldToken, oldId } = await onTemporaryPassword()
    const changed = await call('POST', '/api/v1/auth/password', { token: oldToken, body: { current_password: temporary, new_password: strongPassword() } })
    expect(changed.status).toBe(200)
    expect(changed.body).toEqual({ status: 'ok', token: expect.any(String), expires_at: expect.any(String), user: expect.objectContaining({ id: member.id, must_change_password: false }) })
    const newId = await sessionIdOf(changed.body.token)
    expect(await sessionsOf(t, member.id)).toEqual([newId])
    expectProblem(await call('GET', '/api/v1/me', { token: oldToken }), 401, 'unauthenticated')
    const [event] = (await eventsOf(t.id, 'auth.password_change')).filter((e) => e.outcome === 'success' && e.actor_id === member.id).slice(-1)
    expect(event!.details).toEqual({ session_id: newId, replaces_session_id: oldId })
    // The replacement, issued after the change committed, made room by ending the old session.
    expect((await eventsOf(t.id, 'session.evicted')).filter((e) => e.target_id === oldId)).toEqual([
      expect.objectContaining({ actor_id: member.id, outcome: 'success', details: { reason: 'account_limit', user_id: member.id, by_session: newId } }),
    ])
  })

  it('issues no replacement and keeps the caller’s session when the change fails to commit', async () => {
    const { t, member, temporary, oldToken, oldId } = await onTemporaryPassword()
    const before = await userRow(member.id)
    // D1 refuses the change, as a failed commit would.
    await env.DB.prepare(
      `CREATE TRIGGER fail_password_change BEFORE UPDATE OF password_hash ON users WHEN OLD.id = '${member.id}'
       BEGIN SELECT RAISE(ABORT, 'commit failed'); END`,
    ).run()
    try {
      const failed = await call('POST', '/api/v1/auth/password', { token: oldToken, body: { current_password: temporary, new_password: strongPassword() } })
      expectProblem(failed, 500, 'internal')
    } finally {
      await env.DB.prepare('DROP TRIGGER fail_password_change').run()
    }
    expect(await userRow(member.id)).toEqual(before)
    expect(await sessionsOf(t, member.id)).toEqual([oldId])
    expect((await eventsOf(t.id, 'session.evicted')).filter((e) => e.actor_id === member.id)).toEqual([])
    expect((await eventsOf(t.id, 'auth.password_change')).filter((e) => e.actor_id === member.id && e.outcome === 'success')).toHaveLength(1) // userOf's own
    // The caller can still finish the change with the session it holds.
    expectProblem(await call('GET', '/api/v1/me', { token: oldToken }), 403, 'password-change-required')
    const retried = await call('POST', '/api/v1/auth/password', { token: oldToken, body: { current_password: temporary, new_password: strongPassword() } })
    expect(retried.status).toBe(200)
    expect(await sessionsOf(t, member.id)).toEqual([await sessionIdOf(retried.body.token)])
  })

  it('refuses a new password from the history with 422 and leaves only the caller’s session', async () => {
    const { t, member, temporary, oldToken, oldId } = await onTemporaryPassword()
    const before = await userRow(member.id)
    const reused = await call('POST', '/api/v1/auth/password', { token: oldToken, body: { current_password: temporary, new_password: member.password } })
    expectProblem(reused, 422, 'validation')
    expect(await userRow(member.id)).toEqual(before)
    expect(await sessionsOf(t, member.id)).toEqual([oldId])
    expectProblem(await call('GET', '/api/v1/me', { token: oldToken }), 403, 'password-change-required')
  })
})

describe('the plan’s concurrent sessions (EX-3) with admins always able to sign in', () => {
  /**
   * Free plan (10 sessions): the admin signs out, two members hold five
   * sessions each, so every slot is a member's and the admin holds none.
   */
  async function filledByMembers() {
    const t = await tenantWithAdmin('free')
    const a = await userOf(t)
    const b = await userOf(t)
    expect((await call('POST', '/api/v1/auth/logout', { token: t.adminToken })).status).toBe(204)
    const tokens = [...(await holdSessions(t, a, 5)), ...(await holdSessions(t, b, 5))]
    expect(await liveCount(t)).toBe(10)
    return { t, a, b, tokens }
  }

  it('lets the admin sign in to a tenant whose slots members fill, ending the member session unused longest, audited', async () => {
    const { t, a, tokens } = await filledByMembers()
    const victim = (await sessionsOf(t, a.id))[0]!
    const reply = await login(t, t.adminEmail, t.adminPassword)
    expect({ status: reply.status, login: reply.body.status }).toEqual({ status: 200, login: 'ok' })
    expect(await liveCount(t)).toBe(10)
    expect(await alive(tokens[0]!)).toBe(false)
    for (const token of tokens.slice(1)) expect(await alive(token)).toBe(true)
    const events = await eventsOf(t.id, 'session.evicted')
    expect(events).toEqual([
      {
        actor_id: t.adminId,
        action: 'session.evicted',
        category: 'authentication',
        target_type: 'session',
        target_id: victim,
        outcome: 'success',
        details: { reason: 'admin_sign_in', user_id: a.id, by_session: await sessionIdOf(reply.body.token) },
      },
    ])
  })

  it('lets that admin then list and end the members’ sessions', async () => {
    const { t, b } = await filledByMembers()
    const admin = await signIn(t.slug, t.adminEmail, t.adminPassword)
    const listed = await call('GET', '/api/v1/sessions?limit=200', { token: admin })
    expect(listed.status).toBe(200)
    expect(listed.body.items).toHaveLength(10)
    for (const id of await sessionsOf(t, b.id)) expect((await call('DELETE', `/api/v1/sessions/${id}`, { token: admin })).status).toBe(204)
    expect(await sessionsOf(t, b.id)).toEqual([])
  })

  it('refuses a member holding no session with 409 session-limit and the plan’s detail, ending nothing', async () => {
    const { t, tokens } = await filledByMembers()
    const created = await call('POST', '/api/v1/users', {
      token: await signIn(t.slug, t.adminEmail, t.adminPassword),
      body: { email: `late@${t.slug}.example`, name: 'Late', role: 'member' },
    })
    expect(created.status).toBe(201)
    const before = await liveCount(t)
    const reply = await login(t, `late@${t.slug}.example`, created.body.temporary_password)
    expect(expectProblem(reply, 409, 'session-limit').detail).toBe(FULL_DETAIL)
    expect(reply.body.token).toBeUndefined()
    expect(await liveCount(t)).toBe(before)
    for (const token of tokens.slice(1)) expect(await alive(token)).toBe(true)
  })

  it('audits the refused sign-in as auth.login denied for session_limit', async () => {
    const { t } = await filledByMembers()
    const admin = await signIn(t.slug, t.adminEmail, t.adminPassword)
    const created = await call('POST', '/api/v1/users', { token: admin, body: { email: `late@${t.slug}.example`, name: 'Late', role: 'member' } })
    await login(t, `late@${t.slug}.example`, created.body.temporary_password)
    const denied = (await eventsOf(t.id, 'auth.login')).filter((e) => e.outcome === 'denied')
    expect(denied).toEqual([
      {
        actor_id: created.body.id,
        action: 'auth.login',
        category: 'authentication',
        target_type: 'user',
        target_id: created.body.id,
        outcome: 'denied',
        details: { reason: 'session_limit' },
      },
    ])
  })

  it('lets a member who holds a session in a full tenant trade its own oldest for the new one', async () => {
    const { t, a, b } = await filledByMembers()
    // One of b's sessions goes, so b is under its cap while the tenant is full again after the admin's sign-in.
    const bSessions = await sessionsOf(t, b.id)
    expect((await call('POST', '/api/v1/auth/logout', { token: b.token })).status).toBe(204)
    await signIn(t.slug, t.adminEmail, t.adminPassword)
    expect(await liveCount(t)).toBe(10)
    const aBefore = await sessionsOf(t, a.id)
    const reply = await login(t, b.email, b.password)
    expect(reply.status).toBe(200)
    expect(await sessionsOf(t, a.id)).toEqual(aBefore)
    const bAfter = await sessionsOf(t, b.id)
    expect(bAfter).toHaveLength(4)
    expect(bAfter).not.toContain(bSessions[1])
    expect((await eventsOf(t.id, 'session.evicted')).at(-1)!.details.reason).toBe('tenant_full')
  })

  it('still answers 409 session-limit when admins’ own sessions fill every slot and the admin holds none', async () => {
    const t = await tenantWithAdmin('free')
    const second = await userOf(t, 'admin')
    const third = await userOf(t, 'admin')
    expect((await call('POST', '/api/v1/auth/logout', { token: third.token })).status).toBe(204)
    for (let i = 0; i < 4; i++) await signIn(t.slug, t.adminEmail, t.adminPassword)
    await holdSessions(t, second, 5)
    expect(await liveCount(t)).toBe(10)
    expect(expectProblem(await login(t, third.email, third.password), 409, 'session-limit').detail).toBe(FULL_DETAIL)
    expect(await liveCount(t)).toBe(10)
  })

  it('lets a new sign-in through after a logout frees a session', async () => {
    const { t, tokens } = await filledByMembers()
    const admin = await signIn(t.slug, t.adminEmail, t.adminPassword)
    const created = await call('POST', '/api/v1/users', { token: admin, body: { email: `late@${t.slug}.example`, name: 'Late', role: 'member' } })
    const temporary = created.body.temporary_password
    expectProblem(await login(t, `late@${t.slug}.example`, temporary), 409, 'session-limit')
    expect((await call('POST', '/api/v1/auth/logout', { token: tokens[5]! })).status).toBe(204)
    const reply = await login(t, `late@${t.slug}.example`, temporary)
    expect({ status: reply.status, login: reply.body.status }).toEqual({ status: 200, login: 'password_change_required' })
  })
})
