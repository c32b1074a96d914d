import {
  createExecutionContext,
  createScheduledController,
  env,
  runInDurableObject,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { sessionStoreFor } from '../src/durable/session-store'
import worker from '../src/index'
import { call } from './helpers'

describe('health', () => {
  it('answers liveness without touching anything', async () => {
    const reply = await call('GET', '/health/live')
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ status: 'ok' })
  })

  it('answers readiness after really touching D1, R2 and a Durable Object', async () => {
    const reply = await call('GET', '/health/ready')
    expect(reply.status).toBe(200)
    expect(reply.headers.get('Cache-Control')).toBe('no-store')
    expect(reply.body).toEqual({ status: 'ok', checks: { d1: 'ok', r2: 'ok', durable_objects: 'ok' }, failing: [] })
  })

  it('answers both probes 200 whatever query string a load balancer or uptime checker appends', async () => {
    for (const query of ['?t=123', '?_=1712345678&cachebust=x', '?a=1&a=2', '?', '?%FF=%00']) {
      const live = await call('GET', `/health/live${query}`)
      expect({ status: live.status, body: live.body }).toEqual({ status: 200, body: { status: 'ok' } })
      const ready = await call('GET', `/health/ready${query}`)
      expect({ status: ready.status, body: ready.body }).toEqual({ status: 200, body: { status: 'ok', checks: { d1: 'ok', r2: 'ok', durable_objects: 'ok' }, failing: [] } })
    }
  })

  it('says so in the document, and keeps every other route’s query strict', async () => {
    const doc = (await call('GET', '/openapi.json')).body
    for (const path of ['/health/live', '/health/ready']) {
      const op = doc.paths[path].get
      expect(op.parameters).toEqual([
        expect.objectContaining({ name: 'any', in: 'query', required: false, style: 'form', explode: true, schema: { type: 'object', additionalProperties: { type: 'string' } } }),
      ])
      expect(Object.keys(op.responses)).not.toContain('422')
    }
    const unknown = await call('GET', '/status?t=123')
    expect(unknown.status).toBe(422)
    expect(unknown.body).toMatchObject({ type: 'validation', status: 422 })
  })

  it('answers 503 naming D1 when the database is broken', async () => {
    // Break D1 for real: the probe reads the plans table.
    await env.DB.prepare('ALTER TABLE plans RENAME TO plans_away').run()
    try {
      const reply = await call('GET', '/health/ready')
      expect(reply.status).toBe(503)
      expect(reply.body).toEqual({ status: 'unavailable', checks: { d1: 'fail', r2: 'ok', durable_objects: 'ok' }, failing: ['d1'] })
    } finally {
      await env.DB.prepare('ALTER TABLE plans_away RENAME TO plans').run()
    }
  })
})

describe('scheduled self-check', () => {
  it('runs on the */5 trigger and leaves no alert when everything answers', async () => {
    const before = (await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE action = 'security.self_check_failed'").first<{ n: number }>())!.n
    const ctx = createExecutionContext()
    await worker.scheduled(createScheduledController({ cron: '*/5 * * * *', scheduledTime: Date.now() }), env, ctx)
    await waitOnExecutionContext(ctx)
    const after = (await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE action = 'security.self_check_failed'").first<{ n: number }>())!.n
    expect(after).toBe(before)
  })

  it('writes a security event on the platform chain when a dependency fails', async () => {
    await env.DB.prepare('ALTER TABLE plans RENAME TO plans_away').run()
    try {
      const ctx = createExecutionContext()
      await worker.scheduled(createScheduledController({ cron: '*/5 * * * *', scheduledTime: 1_800_000_000_000 }), env, ctx)
      await waitOnExecutionContext(ctx)
    } finally {
      await env.DB.prepare('ALTER TABLE plans_away RENAME TO plans').run()
    }
    const event = await env.DB.prepare("SELECT * FROM audit_events WHERE action = 'security.self_check_failed' ORDER BY id DESC").first<{
      chain: string
      actor_type: string
      request_id: string
      details: string
      category: string
    }>()
    expect(event).toMatchObject({ chain: 'platform', actor_type: 'system', category: 'security', request_id: 'cron:1800000000000' })
    expect(JSON.parse(event!.details)).toEqual({ failing: ['d1'] })
  })
})

describe('API description', () => {
  it('serves an OpenAPI 3.1 document describing every route the app answers', async () => {
    const reply = await call('GET', '/openapi.json')
    expect(reply.status).toBe(200)
    expect(reply.body.openapi).toBe('3.1.0')
    const documented = Object.entries(reply.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    )
    for (const route of [
      'GET /health/live',
      'GET /health/ready',
      'POST /ops/v1/bootstrap',
      'POST /ops/v1/auth/login',
      'GET /ops/v1/plans',
      'GET /ops/v1/tenants',
      'POST /ops/v1/tenants',
      'GET /ops/v1/tenants/{id}',
      'PATCH /ops/v1/tenants/{id}',
      'GET /ops/v1/audit',
      'POST /api/v1/auth/login',
      'POST /api/v1/auth/password',
      'POST /api/v1/auth/logout',
      'GET /api/v1/me',
      'GET /api/v1/records',
      'POST /api/v1/records',
      'GET /api/v1/records/{id}',
      'PUT /api/v1/records/{id}',
      'DELETE /api/v1/records/{id}',
      'GET /api/v1/audit',
    ]) {
      expect(documented).toContain(route)
    }
  })

  it('declares who may call each operation, and protects every non-public one', async () => {
    const spec = (await call('GET', '/openapi.json')).body
    for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(ops)) {
        const access = op['x-access']
        expect(access, `${method} ${path}`).toBeDefined()
        if (access.audience === 'public') {
          expect(op.security, `${method} ${path}`).toEqual([])
          expect([
            '/health/live',
            '/health/ready',
            '/api/v1/auth/login',
            '/api/v1/auth/mfa',
            '/api/v1/auth/password-reset',
            '/api/v1/auth/password-reset/confirm',
            '/ops/v1/auth/login',
            '/ops/v1/auth/mfa',
            '/dev/mailbox',
            '/status',
            '/.well-known/jwks.json',
          ]).toContain(path)
        } else {
          expect(op.security.length, `${method} ${path}`).toBe(1)
        }
      }
    }
  })

  it('documents validation errors from the same schemas that enforce them', async () => {
    const spec = (await call('GET', '/openapi.json')).body
    const input = spec.components.schemas.RecordInput
    expect(input.required.sort()).toEqual(['collection', 'data'])
    expect(input.additionalProperties).toBe(false)
    expect(spec.paths['/api/v1/records'].post.responses['422'].content['application/problem+json']).toBeDefined()
  })

  it('serves a browsable reference whose script comes from our own origin', async () => {
    const page = await call('GET', '/docs')
    expect(page.status).toBe(200)
    expect(page.headers.get('Content-Type')).toMatch(/^text\/html/)
    expect(page.body).toContain('<script src="/docs/docs.js" defer></script>')
    expect(page.body).not.toMatch(/<script>[^<]/)
    const script = await call('GET', '/docs/docs.js')
    expect(script.status).toBe(200)
    expect(script.headers.get('Content-Type')).toBe('text/javascript; charset=utf-8')
    expect(script.body).toContain("fetch('/openapi.json')")
  })
})

describe('development seed', () => {
  it('does not seed outside development', async () => {
    await call('GET', '/health/ready')
    const seeded = await env.DB.prepare("SELECT count(*) AS n FROM tenants WHERE slug = 'demo'").first<{ n: number }>()
    expect(env.ENVIRONMENT).toBe('test')
    expect(seeded!.n).toBe(0)
  })
})

const NO_SOURCE = { ip: null, certificate: null }

describe('session store', () => {
  it('creates no storage for forged tokens naming made-up tenants', async () => {
    const tenantId = 'tn_0123456789abcdefghjkmnpqrs'
    const reply = await call('GET', '/api/v1/me', { token: `mt1.${tenantId}.0.${'A'.repeat(43)}` })
    expect(reply.status).toBe(401)
    const tables = await runInDurableObject(
      sessionStoreFor(env, { kind: 'tenant', tenantId, shard: 0 }),
      (_instance, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
    )
    expect(tables).toEqual([])
  })

  it('keeps newer source rules when a sign-in brings rules it read before a policy change', async () => {
    const stub = env.SESSIONS.get(env.SESSIONS.idFromName('test:rules'))
    const rules = (version: string, member: string[]) => ({ ip_allowlist: { admin: [], member }, client_cert_required: {}, version })
    await runInDurableObject(stub, async (instance, state) => {
      await instance.setRules(rules('2026-11-26T10:00:00.000Z', ['10.0.0.0/8']))
      await instance.create('ses_r', {
        actorType: 'user', actorId: 'usr_r', tenantId: 'tn_r', role: 'member', permissions: [], kind: 'full',
        tokenHash: 'h3', idleMinutes: 30, absoluteMinutes: 60, ip: null, userAgent: null, certFingerprints: [], maxSessions: null, maxPerAccount: null,
        rules: rules('2026-11-26T09:00:00.000Z', []),
      })
      expect(state.storage.kv.get('rules')).toEqual(rules('2026-11-26T10:00:00.000Z', ['10.0.0.0/8']))
      expect(await instance.authenticate('h3', { ip: '192.0.2.1', certificate: null })).toMatchObject({ ok: false, reason: 'source', rule: 'ip' })
    })
  })

  it('sweeps ended sessions in its alarm', async () => {
    const stub = env.SESSIONS.get(env.SESSIONS.idFromName('test:sweep'))
    await runInDurableObject(stub, async (instance, state) => {
      await instance.create('ses_a', {
        actorType: 'user', actorId: 'usr_a', tenantId: 'tn_a', role: 'member', permissions: [], kind: 'full',
        tokenHash: 'h1', idleMinutes: 30, absoluteMinutes: 60, ip: null, userAgent: null, certFingerprints: [], rules: null, maxSessions: null, maxPerAccount: null,
      })
      state.storage.sql.exec('UPDATE sessions SET expires_at = 0')
      await instance.alarm()
      expect(state.storage.sql.exec('SELECT count(*) AS n FROM sessions').one().n).toBe(0)
    })
  })

  it('ends a session after its idle time even before its absolute expiry', async () => {
    const stub = env.SESSIONS.get(env.SESSIONS.idFromName('test:idle'))
    await runInDurableObject(stub, async (instance, state) => {
      await instance.create('ses_b', {
        actorType: 'user', actorId: 'usr_b', tenantId: 'tn_b', role: 'member', permissions: [], kind: 'full',
        tokenHash: 'h2', idleMinutes: 30, absoluteMinutes: 600, ip: null, userAgent: null, certFingerprints: [], rules: null, maxSessions: null, maxPerAccount: null,
      })
      expect((await instance.authenticate('h2', NO_SOURCE)).ok).toBe(true)
      state.storage.sql.exec('UPDATE sessions SET last_seen_at = last_seen_at - 31 * 60000')
      expect(await instance.authenticate('h2', NO_SOURCE)).toEqual({ ok: false, reason: 'expired' })
      expect(await instance.authenticate('h2', NO_SOURCE)).toEqual({ ok: false, reason: 'unknown' })
    })
  })
})
