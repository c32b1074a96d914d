import { env, runInDurableObject } from 'cloudflare:test'
import { expect } from 'vitest'
import { throttleFor } from '../src/durable/throttle'
import { accountKey, accountObject, networkKeys, PLATFORM_REALM, tenantRealm } from '../src/services/abuse/keys'
import { call, type Reply } from './helpers'

let nextNetwork = 0

/** A client address no other test of the file uses (each test file has its own storage). */
export function freshIp(): string {
  nextNetwork += 1
  return `10.${(nextNetwork >> 16) & 255}.${(nextNetwork >> 8) & 255}.${nextNetwork & 255}`
}

export function from(ip: string, headers: Record<string, string> = {}) {
  return { 'CF-Connecting-IP': ip, ...headers }
}

/** A tenant sign-in from `ip`. */
export function tenantLogin(tenant: string, email: string, password: string, ip: string, headers: Record<string, string> = {}): Promise<Reply> {
  return call('POST', '/api/v1/auth/login', { body: { tenant, email, password }, headers: from(ip, headers) })
}

/** The throttle object of a tenant account key (whether or not the account exists). */
export async function accountThrottle(slug: string, email: string) {
  return throttleFor(env, await accountObject(env, accountKey(tenantRealm(slug), email)))
}

export async function operatorThrottle(email: string) {
  return throttleFor(env, await accountObject(env, accountKey(PLATFORM_REALM, email)))
}

export async function networkThrottle(ip: string) {
  return throttleFor(env, (await networkKeys(env, ip)).object)
}

type Stub = Awaited<ReturnType<typeof accountThrottle>>

/**
 * Moves a throttle object's clock back by `ms` for every counter (the
 * stored timestamps are epoch ms), as if that much time had passed.
 */
export async function age(stub: Stub, ms: number) {
  await runInDurableObject(stub, (_instance, state) => {
    state.storage.sql.exec(
      `UPDATE counters SET window_start = window_start - ?1, last_at = last_at - ?1,
         blocked_until = CASE WHEN blocked_until > 0 THEN blocked_until - ?1 ELSE 0 END,
         expires_at = CASE WHEN expires_at IS NULL THEN NULL ELSE expires_at - ?1 END`,
      ms,
    )
  })
}

export type CounterRow = { scope: string; key: string; count: number; locked: number; blocks: number; refused: number; blocked_until: number }

/** The stored counters of a throttle object, by scope. */
export async function counters(stub: Stub): Promise<CounterRow[]> {
  return runInDurableObject(stub, (_instance, state) => {
    if ((state.storage.kv.get<number>('schema') ?? 0) === 0) return []
    return state.storage.sql.exec<CounterRow>('SELECT scope, key, count, locked, blocks, refused, blocked_until FROM counters ORDER BY scope, key').toArray()
  })
}

/** The 429 of a throttle: its status, type, headers and body, the body without its request id (for comparisons). */
export function throttled(reply: Reply) {
  expect(reply.status).toBe(429)
  expect(reply.headers.get('Content-Type')).toBe('application/problem+json')
  expect(reply.body.type).toBe('too-many-requests')
  const { request_id: requestId, ...body } = reply.body
  expect(requestId).toBe(reply.headers.get('X-Request-Id'))
  return {
    retryAfter: reply.headers.get('Retry-After'),
    policy: reply.headers.get('RateLimit-Policy'),
    rateLimit: reply.headers.get('RateLimit'),
    body,
  }
}

export type AuditRow = { chain: string; actor_id: string | null; action: string; outcome: string; target_id: string | null; details: Record<string, unknown> }

/** Audit events of an action on a chain, oldest first. */
export async function events(chain: string, action: string): Promise<AuditRow[]> {
  const rows = await env.DB.prepare('SELECT chain, actor_id, action, outcome, target_id, details FROM audit_events WHERE chain = ? AND action = ? ORDER BY seq')
    .bind(chain, action)
    .all<Omit<AuditRow, 'details'> & { details: string }>()
  return rows.results.map((r) => ({ ...r, details: JSON.parse(r.details) }))
}

/** Every audit event on a chain. */
export async function chainLength(chain: string): Promise<number> {
  return (await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE chain = ?').bind(chain).first<{ n: number }>())!.n
}

/** Mails queued for `to`, oldest first. */
export async function mailsTo(to: string) {
  const rows = await env.DB.prepare('SELECT subject, body FROM mail_outbox WHERE to_address = ? ORDER BY id').bind(to).all<{ subject: string; body: string }>()
  return rows.results
}
