import { SELF, env } from 'cloudflare:test'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TENANT_TABLES } from '../src/db/tenant-tables'
import { DATA_EXPORT_LIMITS, EXPORT_OMITTED_COLUMNS } from '../src/services/data/export'
import { EXPORTS_PER_HOUR } from '../src/services/usage/export-limit'
import { ORIGIN, call, expectProblem, tenantWithAdmin, userOf, type Reply, type TestTenant, type TestUser } from './helpers'

const MEMBER_PERMISSIONS = ['records:read', 'records:write', 'files:read', 'files:write']

type Line = { table?: string; row?: Record<string, unknown>; download_path?: string; complete?: boolean; next_cursor?: string }

function linesOf(text: string): Line[] {
  expect(text.endsWith('\n')).toBe(true)
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as Line)
}

/** GET /api/v1/export; the body stays text (call() would parse an NDJSON body as one JSON value), problems are parsed. */
async function exportAs(token: string, cursor?: string): Promise<Reply> {
  const res = await SELF.fetch(`${ORIGIN}/api/v1/export${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: { Authorization: `Bearer ${token}` } })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: res.headers.get('Content-Type') === 'application/problem+json' ? JSON.parse(text) : text }
}

async function sha256(text: string) {
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))].map((b) => b.toString(16).padStart(2, '0')).join('')
}

const defaults = { ...DATA_EXPORT_LIMITS }
afterEach(() => {
  Object.assign(DATA_EXPORT_LIMITS, defaults)
})

describe('GET /api/v1/export', () => {
  let t: TestTenant
  let other: TestTenant
  let exporter: TestUser
  let records: any[]
  let file: any
  let text: string
  let lines: Line[]

  beforeAll(async () => {
    t = await tenantWithAdmin()
    other = await tenantWithAdmin()
    exporter = await userOf(t, 'member', [...MEMBER_PERMISSIONS, 'export'])
    records = []
    for (const n of [1, 2]) {
      const made = await call('POST', '/api/v1/records', { token: exporter.token, body: { collection: 'notes', data: { n } } })
      expect(made.status).toBe(201)
      records.push(made.body)
    }
    const put = await call('PUT', '/api/v1/files/hello.txt', { token: exporter.token, raw: 'hello', headers: { 'Content-Type': 'text/plain' } })
    expect(put.status).toBe(201)
    file = put.body
    expect((await call('POST', '/api/v1/records', { token: other.adminToken, body: { collection: 'notes', data: { theirs: true } } })).status).toBe(201)
    const reply = await exportAs(exporter.token)
    expect(reply.status).toBe(200)
    expect(reply.headers.get('Content-Type')).toBe('application/x-ndjson; charset=utf-8')
    expect(reply.headers.get('Content-Disposition')).toMatch(/^attachment; filename="export-\d{4}-\d{2}-\d{2}\.ndjson"$/)
    expect(reply.headers.get('Cache-Control')).toBe('no-store')
    text = reply.body
    lines = linesOf(text)
  })

  it('answers one exact line per record, in key order, with the row as stored', () => {
    const recordLines = text.split('\n').filter((l) => l.startsWith('{"table":"records"'))
    expect(recordLines).toEqual(
      [...records]
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .map((r) =>
          JSON.stringify({
            table: 'records',
            row: {
              id: r.id,
              tenant_id: t.id,
              collection: 'notes',
              data: JSON.stringify(r.data),
              created_at: r.created_at,
              updated_at: r.updated_at,
              created_by: exporter.id,
              updated_by: exporter.id,
            },
          }),
        ),
    )
  })

  it('lists each file with its SHA-256 and its download path', async () => {
    expect(lines.filter((l) => l.table === 'files')).toEqual([
      {
        table: 'files',
        row: {
          id: file.id,
          tenant_id: t.id,
          name: 'hello.txt',
          content_type: 'text/plain',
          size_bytes: 5,
          sha256: await sha256('hello'),
          created_at: file.created_at,
          created_by: exporter.id,
        },
        download_path: `/api/v1/files/${file.id}`,
      },
    ])
  })

  it('starts with the tenant and ends with a line saying the export is complete', () => {
    expect(lines[0]).toMatchObject({ table: 'tenants', row: { id: t.id, slug: t.slug } })
    expect(lines.at(-1)).toEqual({ complete: true })
  })

  it('holds every row of the tenant in every tenant table, and nothing of another tenant', async () => {
    const perTable: Record<string, number> = {}
    for (const l of lines.slice(0, -1)) perTable[l.table!] = (perTable[l.table!] ?? 0) + 1
    for (const table of TENANT_TABLES) {
      const n = (await env.DB.prepare(`SELECT count(*) AS n FROM "${table.name}" WHERE "${table.tenantColumn}" = ?`).bind(t.id).first<{ n: number }>())!.n
      expect(perTable[table.name] ?? 0, table.name).toBe(n)
    }
    for (const l of lines.slice(0, -1)) expect(l.row![l.table === 'tenants' ? 'id' : 'tenant_id']).toBe(t.id)
    expect(text).not.toContain(other.id)
    expect(text).not.toContain('theirs')
  })

  it('never exports a secret column: password hashes, TOTP secrets, recovery-code MACs, challenge tokens and codes, mail subjects and bodies', async () => {
    for (const l of lines.slice(0, -1)) {
      for (const column of EXPORT_OMITTED_COLUMNS[l.table!] ?? []) expect(l.row, `${l.table}.${column}`).not.toHaveProperty(column)
    }
    expect(lines.some((l) => l.table === 'users')).toBe(true)
    expect(lines.some((l) => l.table === 'password_history')).toBe(true)
    expect(lines.some((l) => l.table === 'mfa_challenges')).toBe(true)
    expect(lines.some((l) => l.table === 'mail_outbox')).toBe(true)
    const results: { s: string }[] = []
    for (const query of [
      'SELECT password_hash AS s FROM users WHERE tenant_id = ?',
      'SELECT password_hash AS s FROM password_history WHERE tenant_id = ?',
      'SELECT token_hash AS s FROM mfa_challenges WHERE tenant_id = ?',
      'SELECT code_mac AS s FROM mfa_challenges WHERE tenant_id = ? AND code_mac IS NOT NULL',
      'SELECT body AS s FROM mail_outbox WHERE tenant_id = ?',
      "SELECT subject AS s FROM mail_outbox WHERE tenant_id = ? AND (subject LIKE '%code:%' OR subject LIKE '%コード:%')",
    ]) {
      results.push(...(await env.DB.prepare(query).bind(t.id).all<{ s: string }>()).results)
    }
    expect(results.length).toBeGreaterThan(4)
    expect(await env.DB.prepare("SELECT count(*) AS n FROM mail_outbox WHERE tenant_id = ? AND (subject LIKE '%code:%' OR subject LIKE '%コード:%')").bind(t.id).first('n')).toBeGreaterThan(0)
    for (const { s } of results) expect(text.includes(JSON.stringify(s).slice(1, -1))).toBe(false)
  })

  it('is audited as a data extraction by the caller', async () => {
    const event = await env.DB.prepare("SELECT category, actor_id, target_id, outcome FROM audit_events WHERE tenant_id = ? AND action = 'data.export'")
      .bind(t.id)
      .first()
    expect(event).toEqual({ category: 'data_extraction', actor_id: exporter.id, target_id: t.id, outcome: 'success' })
    // The export's own event is in it.
    expect(lines.filter((l) => l.table === 'audit_events' && l.row!.action === 'data.export')).toHaveLength(1)
  })

  it('refuses a member and an admin without the export permission (403), recording no export', async () => {
    const member = await userOf(t, 'member')
    expectProblem(await exportAs(member.token), 403, 'forbidden')
    expectProblem(await exportAs(t.adminToken), 403, 'forbidden')
    expect(await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE tenant_id = ? AND action = 'data.export'").bind(t.id).first('n')).toBe(1)
  })

  it('refuses a cursor it did not issue (422), recording nothing', async () => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE tenant_id = ? AND action = 'data.export'").bind(t.id).first('n')
    expectProblem(await exportAs(exporter.token, 'bm90LWEtY3Vyc29y'), 422, 'validation')
    expectProblem(await exportAs(exporter.token, btoa('99:x').replace(/=+$/, '')), 422, 'validation')
    expect(await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE tenant_id = ? AND action = 'data.export'").bind(t.id).first('n')).toBe(before)
  })
})

describe('GET /api/v1/export: parts and limits', () => {
  it('goes on from next_cursor when one response reaches its page budget, each row once', async () => {
    const t = await tenantWithAdmin()
    const exporter = await userOf(t, 'member', [...MEMBER_PERMISSIONS, 'export'])
    const ids: string[] = []
    for (let n = 0; n < 5; n++) ids.push((await call('POST', '/api/v1/records', { token: exporter.token, body: { collection: 'c', data: { n } } })).body.id)
    Object.assign(DATA_EXPORT_LIMITS, { pageSize: 2, maxPages: 15 })
    const seen: string[] = []
    let cursor: string | undefined
    let parts = 0
    for (;;) {
      const reply = await exportAs(exporter.token, cursor)
      expect(reply.status).toBe(200)
      const lines = linesOf(reply.body)
      parts++
      seen.push(...lines.filter((l) => l.table === 'records').map((l) => l.row!.id as string))
      const last = lines.at(-1)!
      if (last.complete) break
      expect(last).toEqual({ complete: false, next_cursor: expect.any(String) })
      cursor = last.next_cursor
      expect(parts).toBeLessThan(EXPORTS_PER_HOUR)
    }
    expect(parts).toBeGreaterThan(1)
    expect(seen).toEqual([...ids].sort())
  })

  it(`allows ${EXPORTS_PER_HOUR} exports per tenant and hour, then 429 with Retry-After, recording nothing`, async () => {
    const t = await tenantWithAdmin()
    const exporter = await userOf(t, 'member', [...MEMBER_PERMISSIONS, 'export'])
    for (let i = 0; i < EXPORTS_PER_HOUR; i++) expect((await exportAs(exporter.token)).status).toBe(200)
    const refused = await exportAs(exporter.token)
    const problem = expectProblem(refused, 429, 'too-many-requests')
    expect(problem.detail).toMatch(/data exports per hour/)
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(3000)
    expect(refused.headers.get('RateLimit-Policy')).toContain('"data-export";q=10;w=3600')
    expect(await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE tenant_id = ? AND action = 'data.export'").bind(t.id).first('n')).toBe(EXPORTS_PER_HOUR)
  })
})
