import { SELF, createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test'
import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { DrizzleQueryError } from 'drizzle-orm'
import { createApp } from '../src/app'
import type { AppEnv } from '../src/env'
import { describeError } from '../src/lib/error-log'
import { Problem } from '../src/lib/problem'
import { toProblem } from '../src/lib/render-problem'
import { bodyLimit } from '../src/middleware/body-limit'
import { requestId } from '../src/middleware/request-id'
import { requestLog, type RequestLogLine, type RequestLogOptions } from '../src/middleware/request-log'
import { requirePermission } from '../src/middleware/require-permission'
import { strictJson } from '../src/middleware/strict-json'
import { ROLE_DEFAULT_PERMISSIONS } from '../src/schemas/permissions'
import type { Principal } from '../src/schemas/principal'
import { ORIGIN, call, expectProblem, operator, signIn, snapshotCounts, tenantWithAdmin, type Reply } from './helpers'

/** A fresh id from requestId(): `req_` + the 26 Crockford base32 characters of newId(). */
const FRESH_ID = /^req_[0-9a-hjkmnp-tv-z]{26}$/

/** The same rendering as app.onError in src/app.ts, for the throw-away probes. */
function renderLikeApp(error: Error, c: Context<AppEnv>) {
  const problem = toProblem(error)
  return c.body(JSON.stringify(problem.toJSON(c.var.requestId)), problem.status as 400, {
    ...problem.headers,
    'Content-Type': 'application/problem+json',
  })
}

/** A throw-away Hono with requestId(), the given middleware and the app's error rendering. */
function probe(...middleware: MiddlewareHandler<AppEnv>[]) {
  const app = new Hono<AppEnv>()
  app.use(requestId())
  for (const m of middleware) app.use(m)
  app.onError(renderLikeApp)
  return app
}

/** Reads a Response the way helpers.call() does, so expectProblem() applies. */
async function reply(res: Response): Promise<Reply> {
  const text = await res.text()
  let body: unknown = text
  if (text && /json/.test(res.headers.get('Content-Type') ?? '')) body = JSON.parse(text)
  return { status: res.status, headers: res.headers, body }
}

function principal(overrides: Partial<Principal> = {}): Principal {
  return {
    sessionId: 'ses_0000000000aaaaaaaaaaaaaaaa',
    actorType: 'user',
    actorId: 'usr_0000000000bbbbbbbbbbbbbbbb',
    tenantId: 'tn_0000000000cccccccccccccccc',
    role: 'member',
    permissions: [...ROLE_DEFAULT_PERMISSIONS.member],
    kind: 'full',
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    ...overrides,
  }
}

/** A string of exactly `n` ASCII bytes. */
const bytes = (n: number) => 'x'.repeat(n)

/** A request body that only exists as a stream: no Content-Length, discovered while reading. */
function streamOf(...chunkSizes: number[]) {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const size of chunkSizes) controller.enqueue(new Uint8Array(size).fill(120))
      controller.close()
    },
  })
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('requestId()', () => {
  function idProbe() {
    const app = probe()
    app.get('/probe', (c) => c.json({ id: c.var.requestId }))
    app.get('/not-found', () => {
      throw Problem.notFound('thing', 'th_1')
    })
    app.get('/invalid', () => {
      throw Problem.validation([{ path: 'body.name', message: 'Required' }])
    })
    app.get('/boom', () => {
      throw new Error('kaput')
    })
    return app
  }

  it('echoes a sane incoming X-Request-Id on the response', async () => {
    const res = await idProbe().request('/probe', { headers: { 'X-Request-Id': 'abc-12345678' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('X-Request-Id')).toBe('abc-12345678')
  })

  it('exposes the same id to handlers as c.var.requestId', async () => {
    const res = await idProbe().request('/probe', { headers: { 'X-Request-Id': 'trace:2026.01_ab-CD' } })
    expect(await res.json()).toEqual({ id: 'trace:2026.01_ab-CD' })
    expect(res.headers.get('X-Request-Id')).toBe('trace:2026.01_ab-CD')
  })

  it('accepts ids of exactly 8 and exactly 128 characters', async () => {
    const app = idProbe()
    for (const id of ['abcd1234', 'A'.repeat(128)]) {
      const res = await app.request('/probe', { headers: { 'X-Request-Id': id } })
      expect(res.headers.get('X-Request-Id')).toBe(id)
    }
  })

  it.each([
    ['too short (7 characters)', 'abc1234'],
    ['too long (129 characters)', 'a'.repeat(129)],
    ['containing a space', 'abc 12345678'],
    ['containing a tab', 'abc\t12345678'],
    ['containing an encoded newline', 'abc%0A12345678'],
    ['containing markup', '<script>alert(1)</script>'],
    ['containing a slash', 'abc/12345678'],
  ])('replaces an id %s with a fresh req_ id', async (_what, offered) => {
    const res = await idProbe().request('/probe', { headers: { 'X-Request-Id': offered } })
    const id = res.headers.get('X-Request-Id')
    expect(id).toMatch(FRESH_ID)
    expect(await res.json()).toEqual({ id })
  })

  it('gives a request without X-Request-Id a fresh req_ id', async () => {
    const res = await idProbe().request('/probe')
    expect(res.headers.get('X-Request-Id')).toMatch(FRESH_ID)
  })

  it('gives two requests different ids', async () => {
    const app = idProbe()
    const first = (await app.request('/probe')).headers.get('X-Request-Id')
    const second = (await app.request('/probe')).headers.get('X-Request-Id')
    expect(first).toMatch(FRESH_ID)
    expect(second).toMatch(FRESH_ID)
    expect(first).not.toBe(second)
  })

  it.each([
    ['/not-found', 404, 'not-found'],
    ['/invalid', 422, 'validation'],
    ['/boom', 500, 'internal'],
  ])('puts the caller’s id on the error response of %s (%i)', async (path, status, type) => {
    const res = await idProbe().request(path, { headers: { 'X-Request-Id': 'err-trace-0001' } })
    const body = expectProblem(await reply(res), status, type)
    expect(res.headers.get('X-Request-Id')).toBe('err-trace-0001')
    expect(body.request_id).toBe('err-trace-0001')
  })

  it('puts a fresh id on an error response when none was sent', async () => {
    const res = await idProbe().request('/boom')
    const body = expectProblem(await reply(res), 500, 'internal')
    expect(body.request_id).toMatch(FRESH_ID)
  })

  it('echoes a sane id through the app on a success response', async () => {
    const res = await SELF.fetch(`${ORIGIN}/health/live`, { headers: { 'X-Request-Id': 'abc-12345678' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('X-Request-Id')).toBe('abc-12345678')
  })

  it('echoes a sane id through the app on a 404 and a 422', async () => {
    const headers = { 'X-Request-Id': 'app-trace-42' }
    const missing = expectProblem(await call('GET', '/nope', { headers }), 404, 'not-found')
    expect(missing.request_id).toBe('app-trace-42')
    const invalid = expectProblem(await call('POST', '/api/v1/auth/login', { headers, body: {} }), 422, 'validation')
    expect(invalid.request_id).toBe('app-trace-42')
  })

  it('replaces an insane id through the app with a fresh one', async () => {
    const missing = await call('GET', '/nope', { headers: { 'X-Request-Id': '<script>' } })
    expect(missing.headers.get('X-Request-Id')).toMatch(FRESH_ID)
    expect(missing.body.request_id).toBe(missing.headers.get('X-Request-Id'))
  })
})

describe('requestLog()', () => {
  function logged(options: RequestLogOptions = {}, before: MiddlewareHandler<AppEnv>[] = []) {
    const lines: RequestLogLine[] = []
    const app = new Hono<AppEnv>()
    app.use(requestId())
    for (const m of before) app.use(m)
    app.use(requestLog({ write: (line) => lines.push(line), ...options }))
    app.onError(renderLikeApp)
    app.get('/probe', (c) => c.json({ ok: true }))
    app.post('/probe', (c) => c.json({ ok: true }, 201))
    app.get('/status/:code', (c) => c.body(null, Number(c.req.param('code')) as 200))
    app.get('/not-found', () => {
      throw Problem.notFound('thing', 'th_1')
    })
    app.get('/boom', () => {
      throw new Error('kaput')
    })
    app.get(
      '/signed-in',
      async (c, next) => {
        c.set('principal', principal({ tenantId: 'tn_inner', actorId: 'usr_inner' }))
        await next()
      },
      (c) => c.json({ ok: true }),
    )
    return { app, lines }
  }

  it('writes exactly one line per request', async () => {
    const { app, lines } = logged()
    await app.request('/probe')
    expect(lines).toHaveLength(1)
    await app.request('/probe')
    expect(lines).toHaveLength(2)
  })

  it('writes exactly the documented keys', async () => {
    const { app, lines } = logged()
    await app.request('/probe')
    expect(Object.keys(lines[0]!).sort()).toEqual(
      ['level', 'msg', 'request_id', 'service_request_id', 'tenant_id', 'actor_id', 'method', 'path', 'status', 'duration_ms', 'ip'].sort(),
    )
  })

  it('logs request id, method, path, status and client IP of a successful request', async () => {
    const { app, lines } = logged()
    const res = await app.request('/probe', { method: 'POST', headers: { 'CF-Connecting-IP': '203.0.113.7' } })
    expect(lines).toEqual([
      {
        level: 'info',
        msg: 'request',
        request_id: res.headers.get('X-Request-Id'),
        service_request_id: res.headers.get('X-Request-Id'),
        tenant_id: null,
        actor_id: null,
        method: 'POST',
        path: '/probe',
        status: 201,
        duration_ms: expect.any(Number),
        ip: '203.0.113.7',
      },
    ])
    expect(lines[0]!.duration_ms).toBeGreaterThanOrEqual(0)
    expect(lines[0]!.request_id).toMatch(FRESH_ID)
  })

  it('logs the caller’s sane request id', async () => {
    const { app, lines } = logged()
    await app.request('/probe', { headers: { 'X-Request-Id': 'abc-12345678' } })
    expect(lines[0]!.request_id).toBe('abc-12345678')
    // Beside it, the service's own ID, which no caller chooses.
    expect(lines[0]!.service_request_id).toMatch(FRESH_ID)
  })

  it('logs ip null when CF-Connecting-IP is absent', async () => {
    const { app, lines } = logged()
    await app.request('/probe', { headers: { 'X-Forwarded-For': '198.51.100.1' } })
    expect(lines[0]!.ip).toBeNull()
  })

  it('leaves the query string out of the logged path', async () => {
    const { app, lines } = logged()
    const res = await app.request('/probe?cursor=secret-cursor&token=secret-token')
    expect(res.status).toBe(200)
    expect(lines[0]!.path).toBe('/probe')
    expect(JSON.stringify(lines[0])).not.toContain('secret')
  })

  it('logs the final status of a thrown 404 at level warn', async () => {
    const { app, lines } = logged()
    const res = await app.request('/not-found')
    expect(res.status).toBe(404)
    expect(lines[0]).toMatchObject({ level: 'warn', status: 404, path: '/not-found' })
  })

  it('logs the final status of a thrown unexpected error as 500 at level error', async () => {
    const { app, lines } = logged()
    const res = await app.request('/boom')
    expect(res.status).toBe(500)
    expect(lines[0]).toMatchObject({ level: 'error', status: 500, path: '/boom' })
  })

  it.each([
    [200, 'info'],
    [204, 'info'],
    [302, 'info'],
    [399, 'info'],
    [400, 'warn'],
    [429, 'warn'],
    [499, 'warn'],
    [500, 'error'],
    [503, 'error'],
  ] as const)('logs status %i at level %s', async (status, level) => {
    const { app, lines } = logged()
    const res = await app.request(`/status/${status}`)
    expect(res.status).toBe(status)
    expect(lines[0]).toMatchObject({ level, status })
  })

  it('writes nothing when enabled returns false', async () => {
    const { app, lines } = logged({ enabled: () => false })
    const res = await app.request('/probe')
    expect(res.status).toBe(200)
    await app.request('/boom')
    expect(lines).toEqual([])
  })

  it('asks enabled with the request’s bindings, as the app does with REQUEST_LOG', async () => {
    const { app, lines } = logged({ enabled: (bindings) => (bindings as Env).REQUEST_LOG !== 'off' })
    await app.request('/probe', {}, { REQUEST_LOG: 'off' })
    expect(lines).toEqual([])
    await app.request('/probe', {}, { REQUEST_LOG: 'on' })
    expect(lines).toHaveLength(1)
  })

  it('logs tenant_id and actor_id of a principal set by an earlier middleware', async () => {
    const signedIn: MiddlewareHandler<AppEnv> = async (c, next) => {
      c.set('principal', principal({ tenantId: 'tn_outer', actorId: 'usr_outer' }))
      await next()
    }
    const { app, lines } = logged({}, [signedIn])
    await app.request('/probe')
    expect(lines[0]).toMatchObject({ tenant_id: 'tn_outer', actor_id: 'usr_outer' })
  })

  it('logs tenant_id and actor_id of a principal set by route middleware after it', async () => {
    const { app, lines } = logged()
    await app.request('/signed-in')
    expect(lines[0]).toMatchObject({ tenant_id: 'tn_inner', actor_id: 'usr_inner', status: 200 })
  })

  it('is wired into the app: one console line with the signed-in tenant, actor and final status', async () => {
    const tenant = await tenantWithAdmin()
    const printed = vi.spyOn(console, 'log').mockImplementation(() => {})
    const ctx = createExecutionContext()
    const res = await createApp().request(
      `${ORIGIN}/api/v1/users?limit=7`,
      { headers: { Authorization: `Bearer ${tenant.adminToken}`, 'CF-Connecting-IP': '192.0.2.10' } },
      { ...env, REQUEST_LOG: 'on' },
      ctx,
    )
    await waitOnExecutionContext(ctx)
    expect(res.status).toBe(200)
    const lines = printed.mock.calls.map((args) => JSON.parse(String(args[0])) as { msg?: string })
    expect(lines.filter((line) => line.msg === 'request')).toEqual([
      {
        level: 'info',
        msg: 'request',
        request_id: res.headers.get('X-Request-Id'),
        service_request_id: res.headers.get('X-Request-Id'),
        tenant_id: tenant.id,
        actor_id: tenant.adminId,
        method: 'GET',
        path: '/api/v1/users',
        status: 200,
        duration_ms: expect.any(Number),
        ip: '192.0.2.10',
      },
    ])
  })

  it('logs an operator with tenant_id null', async () => {
    const signedIn: MiddlewareHandler<AppEnv> = async (c, next) => {
      c.set('principal', principal({ actorType: 'operator', role: 'operator', tenantId: null, actorId: 'op_1' }))
      await next()
    }
    const { app, lines } = logged({}, [signedIn])
    await app.request('/probe')
    expect(lines[0]).toMatchObject({ tenant_id: null, actor_id: 'op_1' })
  })
})

describe('securityHeaders()', () => {
  function expectSecurityHeaders(headers: Headers) {
    expect(headers.get('Strict-Transport-Security')).toBe('max-age=63072000; includeSubDomains; preload')
    expect(headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(headers.get('X-Frame-Options')).toBe('DENY')
    expect(headers.get('Referrer-Policy')).toBe('no-referrer')
    const csp = headers.get('Content-Security-Policy') ?? ''
    const directives = csp.split(';').map((d) => d.trim())
    expect(directives).toContain("default-src 'none'")
    expect(directives).toContain("script-src 'self'")
    expect(directives).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).not.toContain('unsafe-eval')
  }

  it('sets them on GET /health/live', async () => {
    const res = await SELF.fetch(`${ORIGIN}/health/live`)
    expect(res.status).toBe(200)
    expectSecurityHeaders(res.headers)
  })

  it('sets them on the HTML page GET /docs', async () => {
    const res = await SELF.fetch(`${ORIGIN}/docs`)
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toMatch(/^text\/html/)
    expectSecurityHeaders(res.headers)
  })

  it.each([
    ['GET', '/nope', 404],
    ['DELETE', '/health/live', 405],
    ['GET', '/api/v1/me', 401],
    ['POST', '/api/v1/auth/login', 422],
  ])('sets them on the error response of %s %s (%i)', async (method, path, status) => {
    const res = await SELF.fetch(`${ORIGIN}${path}`, {
      method,
      ...(method === 'POST' ? { body: '{}', headers: { 'Content-Type': 'application/json' } } : {}),
    })
    expect(res.status).toBe(status)
    expect(res.headers.get('Content-Type')).toBe('application/problem+json')
    expectSecurityHeaders(res.headers)
  })

  it('sets them on an unexpected 500', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const app = createApp()
    app.get('/boom', () => {
      throw new Error('kaput')
    })
    const res = await app.request(`${ORIGIN}/boom`, {}, env)
    expect(res.status).toBe(500)
    expectSecurityHeaders(res.headers)
  })
})

describe('bodyLimit()', () => {
  function limited() {
    const app = probe(bodyLimit({ maxBytes: 100 }))
    app.post('/probe', async (c) => c.json({ received: (await c.req.arrayBuffer()).byteLength }))
    app.get('/probe', (c) => c.json({ received: 0 }))
    return app
  }

  it('lets a body of exactly maxBytes through', async () => {
    const res = await limited().request('/probe', { method: 'POST', body: bytes(100) })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ received: 100 })
  })

  it('refuses a body of maxBytes + 1 with 413 payload-too-large naming the limit', async () => {
    const res = await limited().request('/probe', { method: 'POST', body: bytes(101) })
    const body = expectProblem(await reply(res), 413, 'payload-too-large')
    expect(body).toMatchObject({ max_bytes: 100, detail: 'The request body exceeds the limit of 100 bytes.' })
  })

  it('lets a request without a body through', async () => {
    const res = await limited().request('/probe')
    expect(res.status).toBe(200)
  })

  it('lets a streamed body of exactly maxBytes through intact', async () => {
    const request = new Request('http://probe.test/probe', { method: 'POST', body: streamOf(60, 40) })
    expect(request.headers.get('Content-Length')).toBeNull()
    const res = await limited().request(request)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ received: 100 })
  })

  it('refuses a streamed body without Content-Length once it passes maxBytes', async () => {
    const request = new Request('http://probe.test/probe', { method: 'POST', body: streamOf(60, 40, 1) })
    expect(request.headers.get('Content-Length')).toBeNull()
    const res = await limited().request(request)
    const body = expectProblem(await reply(res), 413, 'payload-too-large')
    expect(body.max_bytes).toBe(100)
  })

  it('refuses 1 MiB + 1 byte on POST /api/v1/auth/login with 413 and changes nothing', async () => {
    const before = await snapshotCounts()
    const reply = await call('POST', '/api/v1/auth/login', {
      raw: bytes(1024 * 1024 + 1),
      headers: { 'Content-Type': 'application/json' },
    })
    const body = expectProblem(reply, 413, 'payload-too-large')
    expect(body.max_bytes).toBe(1024 * 1024)
    expect(await snapshotCounts()).toEqual(before)
  })

  it('refuses a streamed body over 1 MiB on POST /api/v1/auth/login with 413', async () => {
    const res = await SELF.fetch(`${ORIGIN}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: streamOf(512 * 1024, 512 * 1024, 1),
    })
    const body = expectProblem(await reply(res), 413, 'payload-too-large')
    expect(body.max_bytes).toBe(1024 * 1024)
  })

  it('accepts exactly 1 MiB on POST /api/v1/auth/login, which then reaches validation', async () => {
    const reply = await call('POST', '/api/v1/auth/login', {
      raw: `{}${' '.repeat(1024 * 1024 - 2)}`,
      headers: { 'Content-Type': 'application/json' },
    })
    expectProblem(reply, 422, 'validation')
  })

  it('answers 413 before authentication on a protected route', async () => {
    const reply = await call('POST', '/api/v1/records', {
      raw: bytes(1024 * 1024 + 1),
      headers: { 'Content-Type': 'application/json' },
    })
    expectProblem(reply, 413, 'payload-too-large')
  })
})

describe('strictJson()', () => {
  function jsonProbe() {
    const app = probe(strictJson())
    app.post('/probe', async (c) => c.json({ seen: await c.req.json() }))
    app.post('/raw', async (c) => c.json({ text: await c.req.text() }))
    return app
  }
  const post = async (path: string, raw: string, type = 'application/json') =>
    reply(await jsonProbe().request(path, { method: 'POST', body: raw, headers: { 'Content-Type': type } }, env))

  it('hands the handler the value it parsed', async () => {
    const r = await post('/probe', '{"a":{"b":[1,{"c":true}]}}')
    expect(r.body).toEqual({ seen: { a: { b: [1, { c: true }] } } })
  })

  it('refuses a duplicate key with 400 invalid-json naming its path', async () => {
    const problem = expectProblem(await post('/probe', '{"a":{"b":1,"b":2}}'), 400, 'invalid-json')
    expect(problem.errors).toEqual([{ path: 'body.a.b', message: 'Duplicate key.', code: 'duplicate_key' }])
  })

  it('reads application/merge-patch+json as JSON too', async () => {
    expectProblem(await post('/probe', '{"a":1,"a":2}', 'application/merge-patch+json; charset=utf-8'), 400, 'invalid-json')
  })

  it('leaves bodies of other media types alone', async () => {
    expect((await post('/raw', '{"a":1,"a":2}', 'text/plain')).body).toEqual({ text: '{"a":1,"a":2}' })
  })

  it('scans a body nested 100,000 levels deep without a stack overflow', async () => {
    const raw = `${'{"a":'.repeat(100_000)}{}${'}'.repeat(100_000)}`
    expect((await post('/raw', raw)).status).toBe(200)
    expectProblem(await post('/raw', `${'{"a":'.repeat(100_000)}{"k":1,"k":2}${'}'.repeat(100_000)}`), 400, 'invalid-json')
  })
})

describe('notFound()', () => {
  it('answers an unknown path with 404 not-found', async () => {
    const body = expectProblem(await call('GET', '/nope'), 404, 'not-found')
    expect(body).toEqual({
      type: 'not-found',
      title: 'Not found',
      status: 404,
      detail: 'No route for /nope.',
      request_id: expect.stringMatching(FRESH_ID),
    })
  })

  it('answers an unknown path below a known one with 404', async () => {
    expectProblem(await call('GET', '/api/v1/records/rec_0000000000aaaaaaaaaaaaaaaa/extra'), 404, 'not-found')
  })

  it('answers DELETE /health/live with 405 and Allow: GET, HEAD', async () => {
    const reply = await call('DELETE', '/health/live')
    const body = expectProblem(reply, 405, 'method-not-allowed')
    expect(reply.headers.get('Allow')).toBe('GET, HEAD')
    expect(body.detail).toBe('DELETE is not supported here; use GET, HEAD.')
  })

  it('answers POST /api/v1/records/{id} with 405 allowing GET, HEAD, PUT and DELETE', async () => {
    const reply = await call('POST', '/api/v1/records/rec_0000000000aaaaaaaaaaaaaaaa', { body: {} })
    expectProblem(reply, 405, 'method-not-allowed')
    const allow = (reply.headers.get('Allow') ?? '').split(',').map((m) => m.trim())
    expect(allow.sort()).toEqual(['DELETE', 'GET', 'HEAD', 'PUT'])
  })

  it('answers PATCH /api/v1/records with 405 allowing GET, HEAD and POST', async () => {
    const reply = await call('PATCH', '/api/v1/records', { body: {} })
    expectProblem(reply, 405, 'method-not-allowed')
    const allow = (reply.headers.get('Allow') ?? '').split(',').map((m) => m.trim())
    expect(allow.sort()).toEqual(['GET', 'HEAD', 'POST'])
  })

  it('answers OPTIONS on a GET-only path with 405 and Allow: GET, HEAD', async () => {
    const reply = await call('OPTIONS', '/health/live')
    expectProblem(reply, 405, 'method-not-allowed')
    expect(reply.headers.get('Allow')).toBe('GET, HEAD')
  })

  it('answers GET /health/live/ (trailing slash, no such route) with 404, not a 405 allowing GET', async () => {
    const reply = await call('GET', '/health/live/')
    expectProblem(reply, 404, 'not-found')
    expect(reply.headers.get('Allow')).toBeNull()
  })

  it('answers HEAD on a GET route through the GET handler, not with 405', async () => {
    const res = await SELF.fetch(`${ORIGIN}/health/live`, { method: 'HEAD' })
    expect(res.status).toBe(200)
  })
})

describe('onError', () => {
  it('turns an unexpected error into a generic 500 internal that reveals nothing', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const app = createApp()
    app.get('/boom', () => {
      throw new TypeError('cannot read secret_column of undefined (password=hunter2)')
    })
    const res = await app.request(`${ORIGIN}/boom`, { headers: { 'X-Request-Id': 'boom-trace-1' } }, env)
    const text = await res.clone().text()
    const body = expectProblem(await reply(res), 500, 'internal')
    expect(body).toEqual({
      type: 'internal',
      title: 'Internal error',
      status: 500,
      detail: 'Something went wrong on our side. Quote the request ID to support.',
      request_id: 'boom-trace-1',
    })
    expect(text).not.toMatch(/hunter2|secret_column|TypeError/)
    expect(logged).toHaveBeenCalledTimes(1)
    expect(JSON.parse(String(logged.mock.calls[0]![0]))).toMatchObject({
      level: 'error',
      msg: 'unhandled error',
      request_id: 'boom-trace-1',
      error: 'TypeError: cannot read secret_column of undefined (password=hunter2)',
    })
  })

  it('logs a failed D1 query with a fingerprint of its SQL, never its bound parameters', async () => {
    const tenant = await tenantWithAdmin()
    const needle = 'needle-collection-4242'
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    // A real D1 failure of a query that binds the caller's tenant id and the collection asked for.
    await env.DB.exec('ALTER TABLE records RENAME TO records_away')
    const replies: Reply[] = []
    try {
      for (let i = 0; i < 2; i++) replies.push(await call('GET', `/api/v1/records?collection=${needle}`, { token: tenant.adminToken }))
    } finally {
      await env.DB.exec('ALTER TABLE records_away RENAME TO records')
    }
    for (const r of replies) expectProblem(r, 500, 'internal')
    expect(logged).toHaveBeenCalledTimes(2)
    const texts = logged.mock.calls.map((args) => String(args[0]))
    for (const text of texts) {
      expect(text).not.toContain(needle)
      expect(text).not.toContain(tenant.id)
      expect(text).not.toMatch(/params|Failed query/)
    }
    const lines = texts.map((t) => JSON.parse(t))
    expect(lines[0]).toEqual({
      level: 'error',
      msg: 'unhandled error',
      request_id: replies[0]!.headers.get('X-Request-Id'),
      error: expect.stringMatching(/^DrizzleQueryError: .*no such table: records/),
      stack: expect.stringMatching(/^\s+at /),
      query_fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/),
    })
    // One query, one fingerprint: log lines of the same failure can be grouped.
    expect(lines[1].query_fingerprint).toBe(lines[0].query_fingerprint)
  })

  it('masks values a driver error quotes, and keeps the SQL text out of the line', async () => {
    const error = new DrizzleQueryError(
      'select "id" from "users" where "email" = ?',
      ['alice@example.com'],
      new Error("D1_TYPE_ERROR: Type 'object' not supported for value 'alice@example.com'"),
    )
    const fields = await describeError(error)
    expect(fields.error).toBe("DrizzleQueryError: Error: D1_TYPE_ERROR: Type '?' not supported for value '?'")
    expect(JSON.stringify(fields)).not.toMatch(/alice|select/)
    expect(fields.query_fingerprint).toMatch(/^[0-9a-f]{16}$/)
  })

  it('masks quoted values in any error, not only drizzle’s, and logs only the stack’s frames', async () => {
    const error = new Error("D1_ERROR: CHECK constraint failed: value 'bob@example.com' rejected")
    const fields = await describeError(error)
    expect(fields.error).toBe("Error: D1_ERROR: CHECK constraint failed: value '?' rejected")
    expect(fields.stack).toMatch(/^\s+at /)
    expect(JSON.stringify(fields)).not.toContain('bob@example.com')
  })

  it('renders a thrown Problem with its status, headers and extra members', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const app = createApp()
    app.get('/busy', () => {
      throw new Problem({
        status: 503,
        type: 'maintenance',
        title: 'Service unavailable',
        detail: 'Down for maintenance.',
        headers: { 'Retry-After': '120' },
      })
    })
    const res = await app.request(`${ORIGIN}/busy`, {}, env)
    expect(res.headers.get('Retry-After')).toBe('120')
    const body = expectProblem(await reply(res), 503, 'maintenance')
    expect(body.detail).toBe('Down for maintenance.')
    expect(logged).toHaveBeenCalledTimes(1)
  })

  it('answers malformed JSON with 400 invalid-json', async () => {
    const reply = await call('POST', '/api/v1/auth/login', {
      raw: '{"tenant":',
      headers: { 'Content-Type': 'application/json' },
    })
    expectProblem(reply, 400, 'invalid-json')
  })

  it('answers a body that is not JSON by Content-Type with 415 unsupported-media-type', async () => {
    const reply = await call('POST', '/api/v1/auth/login', {
      raw: JSON.stringify({ tenant: 'acme', email: 'a@acme.example', password: 'whatever-password' }),
      headers: { 'Content-Type': 'text/plain' },
    })
    const body = expectProblem(reply, 415, 'unsupported-media-type')
    expect(body.detail).toBe('Send the body as application/json.')
  })

  it('toProblem passes a Problem through unchanged', () => {
    const problem = Problem.conflict('Already there.')
    expect(toProblem(problem)).toBe(problem)
  })

  it('toProblem maps HTTPException 400 to invalid-json with its message', () => {
    const problem = toProblem(new HTTPException(400, { message: 'Malformed JSON in request body' }))
    expect(problem).toMatchObject({ status: 400, type: 'invalid-json', title: 'Bad request', detail: 'Malformed JSON in request body' })
  })

  it('toProblem maps HTTPException 415 to unsupported-media-type', () => {
    const problem = toProblem(new HTTPException(415))
    expect(problem).toMatchObject({
      status: 415,
      type: 'unsupported-media-type',
      title: 'Unsupported media type',
      detail: 'Send the body as application/json.',
    })
  })

  it('toProblem maps HTTPException 413 to payload-too-large', () => {
    expect(toProblem(new HTTPException(413))).toMatchObject({ status: 413, type: 'payload-too-large' })
  })

  it('toProblem maps a 5xx HTTPException to the generic 500 internal', () => {
    const problem = toProblem(new HTTPException(502, { message: 'upstream said secret things' }))
    expect(problem).toMatchObject({ status: 500, type: 'internal' })
    expect(problem.detail).not.toContain('secret')
  })

  it('toProblem turns an Error into a 500 internal with a generic detail', () => {
    const problem = toProblem(new Error('SQLITE_ERROR: no such column: password_hash'))
    expect(problem).toMatchObject({
      status: 500,
      type: 'internal',
      title: 'Internal error',
      detail: 'Something went wrong on our side. Quote the request ID to support.',
    })
    expect(JSON.stringify(problem.toJSON('req'))).not.toContain('SQLITE')
  })
})

describe('authenticate()', () => {
  const secret = 'A'.repeat(43)
  const unknownTenantToken = `mt1.tn_0000000000abcdefghjkmnpqrs.0.${secret}`

  function expectUnauthenticated(reply: Reply) {
    expectProblem(reply, 401, 'unauthenticated')
    expect(reply.headers.get('WWW-Authenticate')).toBe('Bearer')
  }

  it('answers a request without credentials with 401 unauthenticated and WWW-Authenticate: Bearer', async () => {
    expectUnauthenticated(await call('GET', '/api/v1/me'))
  })

  it('answers a garbage bearer token with 401', async () => {
    expectUnauthenticated(await call('GET', '/api/v1/me', { token: 'not-a-token' }))
  })

  it('answers a scheme other than Bearer with 401', async () => {
    const { adminToken } = await tenantWithAdmin()
    expectUnauthenticated(await call('GET', '/api/v1/me', { headers: { Authorization: `Basic ${adminToken}` } }))
  })

  it('answers a well-formed token of an unknown tenant with 401', async () => {
    expect(unknownTenantToken).toMatch(/^mt1\.tn_[0-9a-z]{26}\.0\.[A-Za-z0-9_-]{43}$/)
    expectUnauthenticated(await call('GET', '/api/v1/me', { token: unknownTenantToken }))
  })

  it('answers a well-formed operator token that was never issued with 401', async () => {
    expectUnauthenticated(await call('GET', '/ops/v1/tenants', { token: `mo1.0.${secret}` }))
  })

  it('answers a real tenant token whose secret was altered with 401', async () => {
    const { adminToken } = await tenantWithAdmin()
    const last = adminToken.at(-1) === 'A' ? 'B' : 'A'
    expectUnauthenticated(await call('GET', '/api/v1/me', { token: `${adminToken.slice(0, -1)}${last}` }))
  })

  it('answers an operator token on a tenant route with 401', async () => {
    expectUnauthenticated(await call('GET', '/api/v1/me', { token: await operator() }))
  })

  it('answers a tenant token on an operator route with 401', async () => {
    const { adminToken } = await tenantWithAdmin()
    expectUnauthenticated(await call('GET', '/ops/v1/tenants', { token: adminToken }))
  })

  it('answers a real tenant token moved to shard 5 with 401', async () => {
    const { adminToken } = await tenantWithAdmin()
    expect(adminToken).toMatch(/^mt1\.tn_[0-9a-z]{26}\.0\./)
    expectUnauthenticated(await call('GET', '/api/v1/me', { token: adminToken.replace('.0.', '.5.') }))
  })

  it('answers a real operator token moved to shard 5 with 401', async () => {
    const token = await operator()
    expect(token).toMatch(/^mo1\.0\./)
    expectUnauthenticated(await call('GET', '/ops/v1/tenants', { token: token.replace(/^mo1\.0\./, 'mo1.5.') }))
  })

  it('accepts a valid tenant token with the scheme in lower case', async () => {
    const { adminToken, adminEmail } = await tenantWithAdmin()
    const reply = await call('GET', '/api/v1/me', { headers: { Authorization: `bearer ${adminToken}` } })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ user: { email: adminEmail, role: 'admin' } })
  })

  it('accepts a valid operator token on an operator route', async () => {
    const reply = await call('GET', '/ops/v1/tenants', { token: await operator() })
    expect(reply.status).toBe(200)
  })

  it('ignores a session in a cookie: only the Authorization header carries tokens (no CSRF surface)', async () => {
    const { adminToken } = await tenantWithAdmin()
    expectUnauthenticated(await call('GET', '/api/v1/me', { headers: { Cookie: `mamori_session=${adminToken}` } }))
  })

  it('answers a signed-out token with 401 on the next request', async () => {
    const tenant = await tenantWithAdmin()
    const token = await signIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
    expect((await call('GET', '/api/v1/me', { token })).status).toBe(200)
    expect((await call('POST', '/api/v1/auth/logout', { token })).status).toBe(204)
    expectUnauthenticated(await call('GET', '/api/v1/me', { token }))
  })
})

describe('requirePermission()', () => {
  // These probes have no bindings and a made-up tenant; counting refusals is tested through HTTP in test/alerts.test.ts.
  const uncounted = async () => {}

  function guarded(who: Principal) {
    const app = probe(async (c, next) => {
      c.set('principal', who)
      await next()
    })
    app.get('/probe', requirePermission({ permission: 'audit:read', onRefused: uncounted }), (c) => c.json({ ok: true }))
    return app
  }

  it('lets an account holding the permission through', async () => {
    const res = await guarded(principal({ role: 'admin', permissions: [...ROLE_DEFAULT_PERMISSIONS.admin] })).request('/probe')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true })
  })

  it('answers an account without the permission with 403 forbidden naming it', async () => {
    const res = await guarded(principal({ permissions: [...ROLE_DEFAULT_PERMISSIONS.member] })).request('/probe')
    const body = expectProblem(await reply(res), 403, 'forbidden')
    expect(body.detail).toBe('This needs the permission "audit:read", which your account does not have.')
  })

  it('does not run the handler when the permission is missing', async () => {
    const handler = vi.fn((c: Context<AppEnv>) => c.json({ ok: true }))
    const app = probe(async (c, next) => {
      c.set('principal', principal({ permissions: [] }))
      await next()
    })
    app.get('/probe', requirePermission({ permission: 'records:read', onRefused: uncounted }), handler)
    expect((await app.request('/probe')).status).toBe(403)
    expect(handler).not.toHaveBeenCalled()
  })

  it('lets a tenant admin read GET /api/v1/audit', async () => {
    const { adminToken } = await tenantWithAdmin()
    const reply = await call('GET', '/api/v1/audit', { token: adminToken })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ items: expect.any(Array), next_cursor: null })
  })
})
