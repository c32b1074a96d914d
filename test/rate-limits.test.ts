import { SELF, env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { EXPORTS_PER_HOUR } from '../src/services/usage/export-limit'
import { ORIGIN, call, expectProblem, snapshotCounts, tenantWithAdmin, type Reply } from './helpers'

/**
 * The per-address ceiling in front of everything (the Workers rate-limiting
 * binding, which runs locally in workerd as in wrangler dev), the export
 * frequency limit, and how the OpenAPI document states each limit.
 */

const ANON_LIMIT = 300

let nextNet = 0
/** A /64 of the documentation range no other test in this file uses. */
function freshNet() {
  nextNet += 1
  return `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:${nextNet.toString(16)}`
}

/**
 * Spends one /64's whole anonymous budget. The local binding counts in
 * windows aligned to the clock minute, so a run that straddled a minute
 * boundary is repeated with a new network.
 */
async function exhaustedNet(): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const net = freshNet()
    const minute = Math.floor(Date.now() / 60_000)
    const replies = await Promise.all(
      Array.from({ length: ANON_LIMIT }, (_, i) => call('GET', '/no-such-route', { headers: { 'CF-Connecting-IP': `${net}::${(i % 50) + 1}` } })),
    )
    if (Math.floor(Date.now() / 60_000) !== minute) continue
    expect(replies.map((r) => r.status)).toEqual(Array(ANON_LIMIT).fill(404))
    return net
  }
  throw new Error('three runs straddled a minute boundary')
}

describe('per-address ceiling (Workers rate-limiting binding)', () => {
  it('serves 300 anonymous requests a minute per address (IPv6: per /64), then 429s with Retry-After and RateLimit fields', async () => {
    const net = await exhaustedNet()
    const refused = await call('GET', '/no-such-route', { headers: { 'CF-Connecting-IP': `${net}::abcd` } })
    expect(expectProblem(refused, 429, 'too-many-requests').detail).toBe(
      'Too many requests from your network: at most 300 every 60 seconds. Try again in 60 seconds.',
    )
    expect(refused.headers.get('Retry-After')).toBe('60')
    expect(refused.headers.get('RateLimit-Policy')).toBe('"ip-minute";q=300;w=60')
    expect(refused.headers.get('RateLimit')).toBe('"ip-minute";r=0;t=60')
    // The neighbouring /64 and an IPv4 client are counted apart.
    const [major, minor, a, b] = net.split(':')
    const neighbour = `${major}:${minor}:${a}:${(parseInt(b!, 16) + 0x1000).toString(16)}::1`
    expect((await call('GET', '/no-such-route', { headers: { 'CF-Connecting-IP': neighbour } })).status).toBe(404)
    expect((await call('GET', '/no-such-route', { headers: { 'CF-Connecting-IP': '192.0.2.200' } })).status).toBe(404)
  })

  it('refuses before any D1 or Durable Object work: a throttled sign-in leaves no trace', async () => {
    const t = await tenantWithAdmin()
    const net = await exhaustedNet()
    const before = await snapshotCounts()
    const reply = await call('POST', '/api/v1/auth/login', {
      headers: { 'CF-Connecting-IP': `${net}::1` },
      body: { tenant: t.slug, email: t.adminEmail, password: 'wrong password' },
    })
    expectProblem(reply, 429, 'too-many-requests')
    expect(await snapshotCounts()).toEqual(before)
  })

  it('lets signed-in API calls through to their session store’s own limits, and never limits liveness', async () => {
    const t = await tenantWithAdmin()
    const net = await exhaustedNet()
    const from = { 'CF-Connecting-IP': `${net}::1` }
    const me = await call('GET', '/api/v1/me', { token: t.adminToken, headers: from })
    expect(me.status).toBe(200)
    expect(me.headers.get('RateLimit-Policy')).toMatch(/^"tenant-minute";q=600;w=60/)
    expect((await call('GET', '/health/live', { headers: from })).status).toBe(200)
    expectProblem(await call('GET', '/health/ready', { headers: from }), 429, 'too-many-requests')
  })

  it('gives a made-up or malformed token no way around the ceiling', async () => {
    const t = await tenantWithAdmin()
    const net = await exhaustedNet()
    const from = { 'CF-Connecting-IP': `${net}::1` }
    const madeUp = `mt1.${t.id}.0.${'A'.repeat(43)}`
    const before = await snapshotCounts()
    // A sign-in does not look at the token, so it counts against the address.
    const login = await call('POST', '/api/v1/auth/login', { token: madeUp, headers: from, body: { tenant: t.slug, email: t.adminEmail, password: 'wrong password' } })
    expectProblem(login, 429, 'too-many-requests')
    expectProblem(await call('POST', '/ops/v1/bootstrap', { token: madeUp, headers: from, body: {} }), 429, 'too-many-requests')
    // Outside the API nothing is metered by a session store.
    expectProblem(await call('GET', '/openapi.json', { token: madeUp, headers: from }), 429, 'too-many-requests')
    // A token of no session shape is anonymous.
    expectProblem(await call('GET', '/api/v1/me', { token: 'not-a-session-token', headers: from }), 429, 'too-many-requests')
    expect(await snapshotCounts()).toEqual(before)
  })
})

describe('export frequency', () => {
  /** An export's answer; its NDJSON body is not one JSON document, so only a problem is parsed. */
  async function download(path: string, token: string): Promise<Reply> {
    const res = await SELF.fetch(`${ORIGIN}${path}`, { headers: { Authorization: `Bearer ${token}` } })
    const text = await res.text()
    return { status: res.status, headers: res.headers, body: res.headers.get('Content-Type') === 'application/problem+json' ? JSON.parse(text) : text }
  }

  async function exportEvents(tenantId: string, action: string) {
    return (await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE tenant_id = ? AND action = ?').bind(tenantId, action).first<{ n: number }>())!.n
  }

  it(`allows ${EXPORTS_PER_HOUR} audit exports per hour per tenant, then 429s until the oldest leaves the hour, recording nothing`, async () => {
    const t = await tenantWithAdmin()
    for (let i = 0; i < EXPORTS_PER_HOUR; i++) expect((await download('/api/v1/audit/export', t.adminToken)).status).toBe(200)
    const refused = await download('/api/v1/audit/export?format=csv', t.adminToken)
    expect(expectProblem(refused, 429, 'too-many-requests').detail).toMatch(/^At most 10 audit exports per hour per organisation; try again in \d+ seconds\.$/)
    const retry = Number(refused.headers.get('Retry-After'))
    expect(retry).toBeGreaterThan(3500)
    expect(retry).toBeLessThanOrEqual(3600)
    expect(refused.headers.get('RateLimit-Policy')).toBe('"audit-export";q=10;w=3600')
    expect(refused.headers.get('RateLimit')).toBe(`"audit-export";r=0;t=${retry}`)
    expect(await exportEvents(t.id, 'audit.export')).toBe(EXPORTS_PER_HOUR)
    // Another tenant's exports are its own.
    const other = await tenantWithAdmin()
    expect((await download('/api/v1/audit/export', other.adminToken)).status).toBe(200)
  })

  it('lets only one of two racing exports take the last one of the hour', async () => {
    const t = await tenantWithAdmin()
    for (let i = 0; i < EXPORTS_PER_HOUR - 1; i++) expect((await download('/api/v1/audit/export', t.adminToken)).status).toBe(200)
    const both = await Promise.all([0, 1].map(() => download('/api/v1/audit/export', t.adminToken)))
    expect(both.map((r) => r.status).sort()).toEqual([200, 429])
    expect(await exportEvents(t.id, 'audit.export')).toBe(EXPORTS_PER_HOUR)
  })

  it(`allows ${EXPORTS_PER_HOUR} ledger CSV downloads per hour, counted apart from audit exports; the JSON ledger stays open`, async () => {
    const t = await tenantWithAdmin()
    for (let i = 0; i < EXPORTS_PER_HOUR; i++) expect((await download('/api/v1/ledger?format=csv', t.adminToken)).status).toBe(200)
    const refused = await download('/api/v1/ledger?format=csv', t.adminToken)
    expect(expectProblem(refused, 429, 'too-many-requests').detail).toMatch(/^At most 10 ledger downloads per hour per organisation/)
    expect(refused.headers.get('RateLimit-Policy')).toBe('"ledger-export";q=10;w=3600')
    expect(await exportEvents(t.id, 'ledger.export')).toBe(EXPORTS_PER_HOUR)
    expect((await call('GET', '/api/v1/ledger', { token: t.adminToken })).status).toBe(200)
    expect((await download('/api/v1/audit/export', t.adminToken)).status).toBe(200)
  })
})

describe('the OpenAPI document states the limits', () => {
  it('declares 429 with its headers on every operation, and the size, page and limit bounds', async () => {
    const doc = (await call('GET', '/openapi.json')).body
    const operations = Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ path, method, op })),
    )
    for (const { path, method, op } of operations) {
      expect(op.responses['429'], `${method} ${path}`).toBeDefined()
      expect(Object.keys(op.responses['429'].headers ?? {}).sort(), `${method} ${path}`).toEqual(['RateLimit', 'RateLimit-Policy', 'Retry-After'])
    }
    const records = doc.paths['/api/v1/records'].post
    expect(records.responses['413'].description).toMatch(/JSON bodies: 1 MiB/)
    const list = doc.paths['/api/v1/records'].get.parameters.find((p: { name: string }) => p.name === 'limit')
    expect(list.schema).toMatchObject({ minimum: 1, maximum: 200 })
    const limits = doc.components.schemas.LimitsPatch.properties
    expect(limits.requests_per_minute).toMatchObject({ minimum: 0, maximum: 60_000 })
    expect(limits.seats).toMatchObject({ minimum: 0, maximum: 100_000 })
    expect(doc.components.schemas.LimitsPatch.additionalProperties).toBe(false)
    expect(doc.paths['/api/v1/audit/export'].get.description).toMatch(/10 exports per hour/)
    expect(doc.paths['/api/v1/ledger'].get.description).toMatch(/10 CSV downloads per hour/)
  })
})

describe('query ranges', () => {
  it('refuses an empty or inverted since/until range with 422 on the search and the export, recording nothing', async () => {
    const t = await tenantWithAdmin()
    const at = '2026-01-01T00:00:00.000Z'
    const before = await snapshotCounts()
    for (const path of ['/api/v1/audit', '/api/v1/audit/export']) {
      for (const until of [at, '2025-12-31T00:00:00.000Z']) {
        const reply = await call('GET', `${path}?since=${at}&until=${until}`, { token: t.adminToken })
        expect(expectProblem(reply, 422, 'validation').errors).toEqual([{ path: 'query.until', message: 'Must be later than since.' }])
      }
    }
    expect(await snapshotCounts()).toEqual(before)
    expect((await call('GET', `/api/v1/audit?since=${at}&until=2026-01-01T00:00:00.001Z`, { token: t.adminToken })).status).toBe(200)
  })
})
