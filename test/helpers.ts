import { SELF, env } from 'cloudflare:test'
import { expect } from 'vitest'

export const ORIGIN = 'https://mamori.test'
export const BOOTSTRAP_TOKEN = 'test-bootstrap-token'
export const OPERATOR = { email: 'ops@mamori.test', name: 'Test Operator', password: 'operator-passphrase-2026' }

export type CallOptions = {
  token?: string
  body?: unknown
  /** Sent as is, instead of JSON.stringify(body). */
  raw?: BodyInit
  headers?: Record<string, string>
}

export type Reply = { status: number; headers: Headers; body: any }

/** One HTTP call through the Worker's real fetch handler. */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token) headers.Authorization = `Bearer ${options.token}`
  let body: BodyInit | undefined = options.raw
  if (options.body !== undefined) {
    body = JSON.stringify(options.body)
    headers['Content-Type'] ??= 'application/json'
  }
  const res = await SELF.fetch(`${ORIGIN}${path}`, { method, headers, body })
  const text = await res.text()
  let parsed: unknown = text
  if (text && /json/.test(res.headers.get('Content-Type') ?? '')) parsed = JSON.parse(text)
  return { status: res.status, headers: res.headers, body: parsed }
}

/** Asserts a problem document of the given status and type, and returns it. */
export function expectProblem(reply: Reply, status: number, type: string) {
  expect({ status: reply.status, type: reply.body?.type }).toEqual({ status, type })
  expect(reply.headers.get('Content-Type')).toBe('application/problem+json')
  expect(reply.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) })
  expect(reply.body.request_id).toBe(reply.headers.get('X-Request-Id'))
  return reply.body
}

/** The newest mail the app queued for `to` (the outbox is the test mailbox). */
export async function lastMail(to: string) {
  return env.DB.prepare('SELECT subject, body, status FROM mail_outbox WHERE to_address = ? ORDER BY id DESC LIMIT 1')
    .bind(to)
    .first<{ subject: string; body: string; status: string }>()
}

/** The one-time code in the newest sign-in mail to `to`. */
export async function lastCode(to: string): Promise<string> {
  const mail = await lastMail(to)
  const code = mail?.body.match(/(?:サインイン確認コード: |sign-in code is )(\d{6})/)?.[1]
  expect(code, `no sign-in code mailed to ${to}`).toBeDefined()
  return code!
}

/** Operator sign-in: password, then the e-mailed code (operators always need a second factor). */
export async function operatorSignIn(email = OPERATOR.email, password = OPERATOR.password): Promise<string> {
  const login = await call('POST', '/ops/v1/auth/login', { body: { email, password } })
  expect(login.status).toBe(200)
  expect(login.body.status).toBe('mfa_required')
  const done = await call('POST', '/ops/v1/auth/mfa', { body: { challenge: login.body.challenge, code: await lastCode(email) } })
  expect(done.status).toBe(200)
  return done.body.token as string
}

let operatorToken: Promise<string> | null = null

/** Bootstraps this file's operator (storage is per test file) and signs in once. */
export function operator(): Promise<string> {
  operatorToken ??= (async () => {
    const boot = await call('POST', '/ops/v1/bootstrap', { token: BOOTSTRAP_TOKEN, body: OPERATOR })
    expect(boot.status).toBe(201)
    return operatorSignIn()
  })()
  return operatorToken
}

/** A password the strength rules accept, different every call. */
export function strongPassword() {
  return `Quiet-River-${crypto.randomUUID().slice(0, 8)}-Lantern`
}

let counter = 0
export function uniqueSlug(prefix = 't') {
  counter += 1
  return `${prefix}-${counter}-${crypto.randomUUID().slice(0, 8)}`
}

export type TestTenant = {
  id: string
  slug: string
  adminId: string
  adminEmail: string
  /** The admin's password after the forced change. */
  adminPassword: string
  /** A full session of the admin. */
  adminToken: string
}

/**
 * Creates a tenant through the operator API and walks its admin through the
 * first sign-in (the temporary password, then the code mailed to the admin:
 * the operator saw that password) and the forced password change.
 */
export async function tenantWithAdmin(plan: 'free' | 'standard' | 'enterprise' = 'standard'): Promise<TestTenant> {
  const ops = await operator()
  const slug = uniqueSlug()
  const adminEmail = `admin@${slug}.example`
  const created = await call('POST', '/ops/v1/tenants', {
    token: ops,
    body: { slug, name: `Tenant ${slug}`, plan, contact_email: `contact@${slug}.example`, admin: { email: adminEmail, name: 'Admin' } },
  })
  expect(created.status).toBe(201)
  const login = await call('POST', '/api/v1/auth/login', {
    body: { tenant: slug, email: adminEmail, password: created.body.admin.temporary_password },
  })
  expect(login.body).toEqual({ status: 'mfa_required', challenge: expect.any(String), methods: ['email'] })
  const first = await call('POST', '/api/v1/auth/mfa', { body: { challenge: login.body.challenge, code: await lastCode(adminEmail) } })
  expect(first.body.status).toBe('password_change_required')
  const adminPassword = strongPassword()
  const changed = await call('POST', '/api/v1/auth/password', {
    token: first.body.token,
    body: { current_password: created.body.admin.temporary_password, new_password: adminPassword },
  })
  expect(changed.status).toBe(200)
  return {
    id: created.body.tenant.id,
    slug,
    adminId: created.body.admin.id,
    adminEmail,
    adminPassword,
    adminToken: changed.body.token,
  }
}

/** Signs a tenant user in and returns the full session token. */
export async function signIn(tenant: string, email: string, password: string): Promise<string> {
  const reply = await call('POST', '/api/v1/auth/login', { body: { tenant, email, password } })
  expect(reply.status).toBe(200)
  expect(reply.body.status).toBe('ok')
  return reply.body.token
}

/** Row counts of every table in the schema: the "nothing changed" evidence. */
export async function snapshotCounts() {
  const counts: Record<string, number> = {}
  for (const table of await schemaTables()) {
    counts[table] = (await env.DB.prepare(`SELECT count(*) AS n FROM "${table}"`).first<{ n: number }>())!.n
  }
  return counts
}

/** Every table of the schema, from sqlite_master (SQLite's and D1's own bookkeeping left out). */
export async function schemaTables() {
  const { results } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'd1\\_%' ESCAPE '\\' ORDER BY name",
  ).all<{ name: string }>()
  return results.map((r) => r.name)
}

export type TestUser = { id: string; email: string; password: string; token: string }

/**
 * Creates an account through the users API as the tenant's admin and walks
 * it through the forced password change. Returns a full session token.
 */
export async function userOf(
  tenant: TestTenant,
  role: 'admin' | 'member' = 'member',
  permissions?: string[],
): Promise<TestUser> {
  const email = `${role}-${crypto.randomUUID().slice(0, 8)}@${tenant.slug}.example`
  const created = await call('POST', '/api/v1/users', {
    token: tenant.adminToken,
    body: { email, name: `Test ${role}`, role, ...(permissions ? { permissions } : {}) },
  })
  expect(created.status).toBe(201)
  const first = await call('POST', '/api/v1/auth/login', {
    body: { tenant: tenant.slug, email, password: created.body.temporary_password },
  })
  expect(first.body.status).toBe('password_change_required')
  const password = strongPassword()
  const changed = await call('POST', '/api/v1/auth/password', {
    token: first.body.token,
    body: { current_password: created.body.temporary_password, new_password: password },
  })
  expect(changed.status).toBe(200)
  return { id: created.body.id, email, password, token: changed.body.token }
}

/** RFC 4180 parser for the CSV downloads (after the byte order mark); insists on CRLF after every row. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (ch === '"') quoted = false
      else cell += ch
    } else if (ch === '"') quoted = true
    else if (ch === ',') {
      row.push(cell)
      cell = ''
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell)
      rows.push(row)
      row = []
      cell = ''
      i++
    } else {
      expect(ch, 'a bare line feed outside quotes').not.toBe('\n')
      cell += ch
    }
  }
  expect(cell, 'CSV must end with CRLF').toBe('')
  expect(row).toEqual([])
  return rows
}
