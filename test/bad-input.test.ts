import { env } from 'cloudflare:test'
import { getTableName, is } from 'drizzle-orm'
import { SQLiteTable } from 'drizzle-orm/sqlite-core'
import { beforeAll, describe, expect, it } from 'vitest'
import * as schema from '../src/db/schema'
import {
  BOOTSTRAP_TOKEN,
  OPERATOR,
  call,
  expectProblem,
  operator,
  snapshotCounts,
  tenantWithAdmin,
  uniqueSlug,
  userOf,
  type Reply,
  type TestTenant,
  type TestUser,
} from './helpers'

/**
 * Bad input of every kind, on every route that takes it: each rejected
 * request answers a 4xx problem document and leaves the database exactly as
 * it was (row counts, audit trail included, and the rows themselves).
 */

const MAX_BODY_BYTES = 1024 * 1024
const RECORD_DATA_MAX_BYTES = 64 * 1024

type Body = Record<string, unknown>

const ctx = {
  ops: '',
  tenant: null as unknown as TestTenant,
  other: null as unknown as TestTenant,
  /** The tenant admin's current password (the password route's control changes it). */
  password: '',
  recordId: '',
  otherRecordId: '',
  /** A member who manages their own second factors in the table below. */
  member: null as unknown as TestUser,
  /** A member the admin edits (renames, binds certificates to). */
  target: null as unknown as TestUser,
  /** A member with no second factor who starts TOTP below (with one, a current code would be needed too). */
  enroller: null as unknown as TestUser,
}

let passwordGeneration = 0

beforeAll(async () => {
  ctx.ops = await operator()
  ctx.tenant = await tenantWithAdmin()
  ctx.other = await tenantWithAdmin()
  ctx.password = ctx.tenant.adminPassword
  const mine = await call('POST', '/api/v1/records', {
    token: ctx.tenant.adminToken,
    body: { collection: 'customers', data: { name: 'Mine' } },
  })
  expect(mine.status).toBe(201)
  ctx.recordId = mine.body.id
  const theirs = await call('POST', '/api/v1/records', {
    token: ctx.other.adminToken,
    body: { collection: 'customers', data: { name: 'Theirs' } },
  })
  expect(theirs.status).toBe(201)
  ctx.otherRecordId = theirs.body.id
  ctx.member = await userOf(ctx.tenant)
  ctx.target = await userOf(ctx.tenant)
  ctx.enroller = await userOf(ctx.tenant)
})

/** Everything a request could change in D1: the counts of every table, and every row of the tables bad input could touch. */
async function storedState() {
  const rows = async (table: string) => (await env.DB.prepare(`SELECT * FROM ${table} ORDER BY id`).all()).results
  return {
    counts: await snapshotCounts(),
    tenants: await rows('tenants'),
    users: await rows('users'),
    operators: await rows('operators'),
    records: await rows('records'),
  }
}

describe('the "changes nothing" evidence', () => {
  it('counts every table of the schema, not a chosen few', async () => {
    const declared = Object.values(schema)
      .filter((t) => is(t, SQLiteTable))
      .map((t) => getTableName(t as SQLiteTable))
    const counted = Object.keys(await snapshotCounts())
    expect(declared.length).toBeGreaterThanOrEqual(15)
    expect(counted).toEqual(expect.arrayContaining(declared))
    expect(counted).not.toContain('d1_migrations')
  })
})

/** Sends a request that must be refused, checks the problem document, and proves nothing changed. */
async function refused(send: () => Promise<Reply>, status: number, type: string) {
  const before = await storedState()
  const reply = await send()
  const problem = expectProblem(reply, status, type)
  expect(await storedState()).toEqual(before)
  return problem
}

/** A copy of `body` with the field at a dotted path (`admin.email`) replaced. */
function withField(body: Body, path: string, value: unknown): Body {
  const [head, ...rest] = path.split('.') as [string, ...string[]]
  if (rest.length === 0) return { ...body, [head]: value }
  return { ...body, [head]: withField((body[head] ?? {}) as Body, rest.join('.'), value) }
}

function pathsOf(problem: { errors?: Array<{ path: string }> }) {
  return (problem.errors ?? []).map((e) => e.path).sort()
}

/** `depth` nested objects: depth 1 is `{}`, depth 2 is `{a: {}}`, ... */
function nested(depth: number): Body {
  let value: Body = {}
  for (let i = 1; i < depth; i++) value = { a: value }
  return value
}

type JsonRoute = {
  name: string
  method: 'POST' | 'PATCH' | 'PUT'
  path: () => string
  token: () => string | undefined
  /** A body the route accepts. */
  valid: () => Body
  /** What the unchanged valid body answers (proves the mutations below are what gets refused). */
  accepted: number
  /** Runs after the control request succeeded, to keep `ctx` in step. */
  afterAccepted?: (reply: Reply) => void
  /** The same body with wrong JSON types, and the exact field paths the problem must name. */
  wrongTypes: { body: Body; paths: string[] }
  /** A string field used to blow the body size limit. */
  bigField: string
}

const ROUTES: JsonRoute[] = [
  {
    name: 'POST /ops/v1/bootstrap',
    method: 'POST',
    path: () => '/ops/v1/bootstrap',
    token: () => BOOTSTRAP_TOKEN,
    valid: () => ({ email: 'second@mamori.test', name: 'Second Operator', password: 'another operator passphrase' }),
    accepted: 409,
    wrongTypes: { body: { email: 42, name: ['Second'], password: { value: 'x' } }, paths: ['body.email', 'body.name', 'body.password'] },
    bigField: 'name',
  },
  {
    name: 'POST /ops/v1/auth/login',
    method: 'POST',
    path: () => '/ops/v1/auth/login',
    token: () => undefined,
    valid: () => ({ email: OPERATOR.email, password: OPERATOR.password }),
    accepted: 200,
    wrongTypes: { body: { email: [OPERATOR.email], password: 12345678 }, paths: ['body.email', 'body.password'] },
    bigField: 'password',
  },
  {
    name: 'POST /ops/v1/tenants',
    method: 'POST',
    path: () => '/ops/v1/tenants',
    token: () => ctx.ops,
    valid: () => {
      const slug = uniqueSlug('bad')
      return {
        slug,
        name: `Tenant ${slug}`,
        plan: 'free',
        contact_email: `contact@${slug}.example`,
        admin: { email: `admin@${slug}.example`, name: 'Admin' },
      }
    },
    accepted: 201,
    wrongTypes: {
      body: { slug: 123, name: { ja: '名前' }, plan: 3, contact_email: true, admin: ['admin@x.example', 'Admin'] },
      paths: ['body.admin', 'body.contact_email', 'body.name', 'body.plan', 'body.slug'],
    },
    bigField: 'name',
  },
  {
    name: 'PATCH /ops/v1/tenants/{id}',
    method: 'PATCH',
    path: () => `/ops/v1/tenants/${ctx.tenant.id}`,
    token: () => ctx.ops,
    valid: () => ({ name: 'Renamed Tenant' }),
    accepted: 200,
    wrongTypes: { body: { name: 5, status: ['active'], contact_email: null }, paths: ['body.contact_email', 'body.name', 'body.status'] },
    bigField: 'name',
  },
  {
    name: 'POST /api/v1/auth/login',
    method: 'POST',
    path: () => '/api/v1/auth/login',
    token: () => undefined,
    valid: () => ({ tenant: ctx.tenant.slug, email: ctx.tenant.adminEmail, password: ctx.password }),
    accepted: 200,
    wrongTypes: { body: { tenant: 1, email: null, password: ['secret'] }, paths: ['body.email', 'body.password', 'body.tenant'] },
    bigField: 'password',
  },
  {
    name: 'POST /api/v1/auth/password',
    method: 'POST',
    path: () => '/api/v1/auth/password',
    token: () => ctx.tenant.adminToken,
    valid: () => ({ current_password: ctx.password, new_password: `fresh passphrase number ${passwordGeneration + 1}` }),
    accepted: 200,
    afterAccepted: () => {
      passwordGeneration += 1
      ctx.password = `fresh passphrase number ${passwordGeneration}`
    },
    wrongTypes: { body: { current_password: 1234, new_password: { a: 1 } }, paths: ['body.current_password', 'body.new_password'] },
    bigField: 'new_password',
  },
  {
    name: 'POST /api/v1/records',
    method: 'POST',
    path: () => '/api/v1/records',
    token: () => ctx.tenant.adminToken,
    valid: () => ({ collection: 'customers', data: { name: 'Acme' } }),
    accepted: 201,
    wrongTypes: { body: { collection: 7, data: 'not an object' }, paths: ['body.collection', 'body.data'] },
    bigField: 'collection',
  },
  {
    name: 'PUT /api/v1/records/{id}',
    method: 'PUT',
    path: () => `/api/v1/records/${ctx.recordId}`,
    token: () => ctx.tenant.adminToken,
    valid: () => ({ collection: 'customers', data: { name: 'Acme', tier: 2 } }),
    accepted: 200,
    wrongTypes: { body: { collection: ['customers'], data: 42 }, paths: ['body.collection', 'body.data'] },
    bigField: 'collection',
  },
  {
    name: 'POST /api/v1/auth/mfa',
    method: 'POST',
    path: () => '/api/v1/auth/mfa',
    token: () => undefined,
    valid: () => ({ challenge: `mc1.${'A'.repeat(43)}`, code: '123456' }),
    // A well-formed answer to a challenge that does not exist.
    accepted: 401,
    wrongTypes: { body: { challenge: 1, code: ['123456'] }, paths: ['body.challenge', 'body.code'] },
    bigField: 'code',
  },
  {
    name: 'PUT /api/v1/policy',
    method: 'PUT',
    path: () => '/api/v1/policy',
    token: () => ctx.tenant.adminToken,
    valid: () => ({ session_idle_minutes: 20 }),
    accepted: 200,
    wrongTypes: { body: { password_min_length: '12', mfa_required: 'yes' }, paths: ['body.mfa_required', 'body.password_min_length'] },
    bigField: 'password_min_length',
  },
  {
    name: 'POST /api/v1/users',
    method: 'POST',
    path: () => '/api/v1/users',
    token: () => ctx.tenant.adminToken,
    valid: () => ({ email: `${uniqueSlug('u')}@${ctx.tenant.slug}.example`, name: 'New Person', role: 'member' }),
    accepted: 201,
    wrongTypes: { body: { email: 1, name: 2, role: 'owner' }, paths: ['body.email', 'body.name', 'body.role'] },
    bigField: 'name',
  },
  {
    name: 'PATCH /api/v1/users/{id}',
    method: 'PATCH',
    path: () => `/api/v1/users/${ctx.target.id}`,
    token: () => ctx.tenant.adminToken,
    valid: () => ({ name: 'Renamed Person' }),
    accepted: 200,
    wrongTypes: { body: { name: 1, status: 'gone' }, paths: ['body.name', 'body.status'] },
    bigField: 'name',
  },
  {
    name: 'PATCH /api/v1/me',
    method: 'PATCH',
    path: () => '/api/v1/me',
    token: () => ctx.member.token,
    valid: () => ({ language: 'en' }),
    accepted: 200,
    wrongTypes: { body: { language: 5 }, paths: ['body.language'] },
    bigField: 'language',
  },
  {
    name: 'PATCH /api/v1/tenant',
    method: 'PATCH',
    path: () => '/api/v1/tenant',
    token: () => ctx.tenant.adminToken,
    valid: () => ({ language: 'en' }),
    accepted: 200,
    wrongTypes: { body: { language: ['en'] }, paths: ['body.language'] },
    bigField: 'language',
  },
  {
    name: 'PUT /api/v1/users/{id}/certificates',
    method: 'PUT',
    path: () => `/api/v1/users/${ctx.target.id}/certificates`,
    token: () => ctx.tenant.adminToken,
    valid: () => ({ fingerprints: ['ab'.repeat(32)] }),
    accepted: 200,
    wrongTypes: { body: { fingerprints: 'ab' }, paths: ['body.fingerprints'] },
    bigField: 'fingerprints',
  },
  {
    name: 'POST /api/v1/support-access',
    method: 'POST',
    path: () => '/api/v1/support-access',
    token: () => ctx.tenant.adminToken,
    valid: () => ({ hours: 1 }),
    accepted: 200,
    wrongTypes: { body: { hours: 'one' }, paths: ['body.hours'] },
    bigField: 'hours',
  },
  {
    name: 'POST /api/v1/me/mfa/email',
    method: 'POST',
    path: () => '/api/v1/me/mfa/email',
    token: () => ctx.member.token,
    valid: () => ({ current_password: ctx.member.password }),
    accepted: 200,
    wrongTypes: { body: { current_password: 5 }, paths: ['body.current_password'] },
    bigField: 'current_password',
  },
  {
    name: 'POST /api/v1/me/mfa/totp',
    method: 'POST',
    path: () => '/api/v1/me/mfa/totp',
    token: () => ctx.enroller.token,
    valid: () => ({ current_password: ctx.enroller.password }),
    accepted: 200,
    wrongTypes: { body: { current_password: false }, paths: ['body.current_password'] },
    bigField: 'current_password',
  },
  {
    name: 'POST /api/v1/me/mfa/totp/confirm',
    method: 'POST',
    path: () => '/api/v1/me/mfa/totp/confirm',
    token: () => ctx.enroller.token,
    // A well-formed code that does not match the authenticator.
    valid: () => ({ code: '000000' }),
    accepted: 422,
    wrongTypes: { body: { code: 123456 }, paths: ['body.code'] },
    bigField: 'code',
  },
]

function send(route: JsonRoute, options: { body?: unknown; raw?: BodyInit; headers?: Record<string, string> }) {
  const token = route.token()
  return call(route.method, route.path(), { ...(token ? { token } : {}), ...options })
}

describe.each(ROUTES)('$name', (route) => {
  it('accepts the unchanged valid body (the control for every refusal below)', async () => {
    const reply = await send(route, { body: route.valid() })
    expect(reply.status).toBe(route.accepted)
    route.afterAccepted?.(reply)
  })

  it('answers malformed JSON with 400 invalid-json and changes nothing', async () => {
    await refused(() => send(route, { raw: '{"a":', headers: { 'Content-Type': 'application/json' } }), 400, 'invalid-json')
  })

  it('answers a body whose first key appears twice with 400 invalid-json naming it, and changes nothing', async () => {
    const valid = route.valid()
    const [key] = Object.keys(valid) as [string]
    const raw = `{${JSON.stringify(key)}:${JSON.stringify(valid[key])},${JSON.stringify(valid).slice(1)}`
    const problem = await refused(() => send(route, { raw, headers: { 'Content-Type': 'application/json' } }), 400, 'invalid-json')
    expect(problem.errors).toEqual([{ path: `body.${key}`, message: 'Duplicate key.', code: 'duplicate_key' }])
  })

  it('answers a JSON body sent as text/plain with 415 unsupported-media-type and changes nothing', async () => {
    await refused(
      () => send(route, { raw: JSON.stringify(route.valid()), headers: { 'Content-Type': 'text/plain' } }),
      415,
      'unsupported-media-type',
    )
  })

  it('answers wrong JSON types with 422 validation naming each bad field', async () => {
    const problem = await refused(() => send(route, { body: route.wrongTypes.body }), 422, 'validation')
    expect(pathsOf(problem)).toEqual(route.wrongTypes.paths)
  })

  it('answers an array where the body object belongs with 422 validation at path "body"', async () => {
    const problem = await refused(() => send(route, { body: [route.valid()] }), 422, 'validation')
    expect(pathsOf(problem)).toEqual(['body'])
  })

  it('answers an unknown top-level field with 422 validation that names the field', async () => {
    const problem = await refused(() => send(route, { body: { ...route.valid(), is_admin: true } }), 422, 'validation')
    expect(problem.errors).toEqual([{ path: 'body', code: 'unrecognized_keys', message: expect.stringContaining('is_admin') }])
  })

  it('answers a body over 1 MiB with 413 payload-too-large and changes nothing', async () => {
    const body = withField(route.valid(), route.bigField, 'x'.repeat(1_100_000))
    const problem = await refused(() => send(route, { body }), 413, 'payload-too-large')
    expect(problem.max_bytes).toBe(MAX_BODY_BYTES)
  })
})

describe('request bodies: no looser than the document', () => {
  it.each([
    ['PATCH /api/v1/users/{id}', () => `/api/v1/users/${ctx.target.id}`, () => ctx.tenant.adminToken],
    ['PATCH /ops/v1/tenants/{id}', () => `/ops/v1/tenants/${ctx.tenant.id}`, () => ctx.ops],
  ])('%s refuses an empty body with 422 "nothing to change"', async (_, path, token) => {
    const problem = await refused(() => call('PATCH', path(), { token: token(), body: {} }), 422, 'validation')
    expect(problem.errors).toEqual([{ path: 'body', code: 'custom', message: 'Nothing to change: send at least one field.' }])
  })

  it.each([
    ['colons in odd places', `a:${'b'.repeat(63)}`],
    ['pairs with a missing colon', `${'ab:'.repeat(30)}abab`],
    ['a trailing colon', `${'ab:'.repeat(32)}`],
    ['65 hex digits', 'a'.repeat(65)],
  ])('PUT /api/v1/users/{id}/certificates refuses a fingerprint with %s', async (_, fingerprint) => {
    const problem = await refused(
      () => call('PUT', `/api/v1/users/${ctx.target.id}/certificates`, { token: ctx.tenant.adminToken, body: { fingerprints: [fingerprint] } }),
      422,
      'validation',
    )
    expect(pathsOf(problem)).toEqual(['body.fingerprints.0'])
  })

  it.each([
    ['a quoted local part', '"john doe"@example.com'],
    ['an IP-literal domain', 'admin@[192.0.2.1]'],
    ['a dotless domain', 'admin@localhost'],
    ['a non-ASCII domain', 'admin@例え.jp'],
  ])('POST /api/v1/users refuses an e-mail with %s, which the documented pattern refuses too', async (_, email) => {
    const spec = (await call('GET', '/openapi.json')).body
    expect(new RegExp(spec.components.schemas.UserCreate.properties.email.pattern, 'u').test(email)).toBe(false)
    const problem = await refused(
      () => call('POST', '/api/v1/users', { token: ctx.tenant.adminToken, body: { email, name: 'Odd Address', role: 'member' } }),
      422,
      'validation',
    )
    expect(pathsOf(problem)).toEqual(['body.email'])
  })
})

describe('request bodies: duplicate keys', () => {
  const users = ROUTES.find((r) => r.name === 'POST /api/v1/users')!
  const records = ROUTES.find((r) => r.name === 'POST /api/v1/records')!
  const json = { 'Content-Type': 'application/json' }

  it('refuses {"role":"member","role":"admin"} with 400 invalid-json instead of creating an admin', async () => {
    const email = `${uniqueSlug('dup')}@${ctx.tenant.slug}.example`
    const raw = `{"email":${JSON.stringify(email)},"name":"Two Roles","role":"member","role":"admin"}`
    const problem = await refused(() => send(users, { raw, headers: json }), 400, 'invalid-json')
    expect(problem.detail).toBe('The key "role" appears twice at body.role; send each key once.')
    const stored = await env.DB.prepare('SELECT count(*) AS n FROM users WHERE email = ?').bind(email).first<{ n: number }>()
    expect(stored!.n).toBe(0)
  })

  it('compares keys after unescaping: "role" and "\\u0072ole" are the same key', async () => {
    const raw = `{"email":"esc@${ctx.tenant.slug}.example","name":"Escaped","role":"member","\\u0072ole":"admin"}`
    const problem = await refused(() => send(users, { raw, headers: json }), 400, 'invalid-json')
    expect(problem.errors).toEqual([{ path: 'body.role', message: 'Duplicate key.', code: 'duplicate_key' }])
  })

  it.each([
    ['in a nested object', '{"collection":"c","data":{"a":{"b":1,"b":2}}}', 'body.data.a.b'],
    ['in an object inside an array', '{"collection":"c","data":{"list":[{"k":1},{"k":1,"x":0,"k":2}]}}', 'body.data.list.1.k'],
    ['with whitespace before the colon', '{"collection":"c","data":{"k" : 1, "k"\n:\t2}}', 'body.data.k'],
    ['at the top level after a nested object', '{"data":{"collection":1},"collection":"c","data":{}}', 'body.data'],
  ])('refuses a duplicate key %s with 400 naming its path', async (_, raw, path) => {
    const problem = await refused(() => send(records, { raw, headers: json }), 400, 'invalid-json')
    expect(problem.errors).toEqual([{ path, message: 'Duplicate key.', code: 'duplicate_key' }])
  })

  it('accepts the same key in different objects, and keys that only look alike in strings', async () => {
    const data = { a: { k: 1 }, b: { k: 2 }, list: [{ k: 1 }, { k: 2 }], s: '"k":1,"k":2', 'k\\': 1, k: 2 }
    const reply = await send(records, { raw: JSON.stringify({ collection: 'dup-ok', data }), headers: json })
    expect(reply.status).toBe(201)
    expect(reply.body.data).toEqual(data)
  })

  it('still answers a duplicate key of an unauthenticated request with 401 first', async () => {
    const reply = await call('POST', '/api/v1/records', { raw: '{"collection":"a","collection":"b","data":{}}', headers: json })
    expectProblem(reply, 401, 'unauthenticated')
  })
})

describe('request bodies: framing', () => {
  const records = ROUTES.find((r) => r.name === 'POST /api/v1/records')!
  const login = ROUTES.find((r) => r.name === 'POST /ops/v1/auth/login')!

  it.each([
    ['an empty body', ''],
    ['plain words', 'not json'],
    ['single-quoted keys', "{'collection': 'customers'}"],
    ['a trailing comma', '{"collection":"customers","data":{},}'],
    ['two concatenated documents', '{"collection":"a","data":{}}{"collection":"b","data":{}}'],
  ])('answers %s sent as application/json with 400 invalid-json', async (_, raw) => {
    await refused(() => send(records, { raw, headers: { 'Content-Type': 'application/json' } }), 400, 'invalid-json')
  })

  it.each([
    ['application/x-www-form-urlencoded', 'collection=customers&data=x'],
    ['multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="collection"\r\n\r\ncustomers\r\n--x--\r\n'],
    ['application/xml', '<record><collection>customers</collection></record>'],
  ])('answers a %s body with 415 unsupported-media-type', async (contentType, raw) => {
    await refused(() => send(records, { raw, headers: { 'Content-Type': contentType } }), 415, 'unsupported-media-type')
  })

  it('answers a JSON body without any Content-Type with 415 unsupported-media-type', async () => {
    const raw = new TextEncoder().encode(JSON.stringify(records.valid()))
    await refused(() => send(records, { raw }), 415, 'unsupported-media-type')
  })

  it.each([
    ['null', 'null'],
    ['a string', '"customers"'],
    ['a number', '42'],
  ])('answers a JSON body that is %s with 422 validation at path "body"', async (_, raw) => {
    const problem = await refused(() => send(records, { raw, headers: { 'Content-Type': 'application/json' } }), 422, 'validation')
    expect(pathsOf(problem)).toEqual(['body'])
  })

  it('reads a body of exactly 1 MiB (then refuses its too-long password with 422, not 413)', async () => {
    const skeleton = JSON.stringify({ email: OPERATOR.email, password: '' })
    const raw = JSON.stringify({ email: OPERATOR.email, password: 'x'.repeat(MAX_BODY_BYTES - skeleton.length) })
    expect(raw.length).toBe(MAX_BODY_BYTES)
    const problem = await refused(() => send(login, { raw, headers: { 'Content-Type': 'application/json' } }), 422, 'validation')
    expect(pathsOf(problem)).toEqual(['body.password'])
  })

  it('refuses a body of 1 MiB plus one byte with 413 payload-too-large', async () => {
    const skeleton = JSON.stringify({ email: OPERATOR.email, password: '' })
    const raw = JSON.stringify({ email: OPERATOR.email, password: 'x'.repeat(MAX_BODY_BYTES - skeleton.length + 1) })
    expect(raw.length).toBe(MAX_BODY_BYTES + 1)
    await refused(() => send(login, { raw, headers: { 'Content-Type': 'application/json' } }), 413, 'payload-too-large')
  })

  it('refuses an over-1-MiB body streamed without Content-Length with 413 payload-too-large', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
    let sent = 0
    const raw = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"collection":"customers","data":{"blob":"'))
      },
      pull(controller) {
        if (sent >= 18) {
          controller.enqueue(new TextEncoder().encode('"}}'))
          controller.close()
          return
        }
        sent += 1
        controller.enqueue(chunk)
      },
    })
    await refused(() => send(records, { raw, headers: { 'Content-Type': 'application/json' } }), 413, 'payload-too-large')
  })
})

describe('hostile strings', () => {
  const tenantCreate = ROUTES.find((r) => r.name === 'POST /ops/v1/tenants')!

  const NAME_FIELDS: Array<[string, string]> = [
    ['POST /ops/v1/bootstrap', 'name'],
    ['POST /ops/v1/tenants', 'name'],
    ['POST /ops/v1/tenants', 'admin.name'],
    ['PATCH /ops/v1/tenants/{id}', 'name'],
  ]
  const CONTROL_CHARACTERS: Array<[string, string]> = [
    ['NUL', '\u0000'],
    ['BEL', '\u0007'],
    ['ESC', '\u001b'],
    ['a line feed', '\n'],
    ['DEL', '\u007f'],
    ['the C1 control NEL', '\u0085'],
  ]
  const nameCases = NAME_FIELDS.flatMap(([route, field]) =>
    CONTROL_CHARACTERS.map(([label, char]) => ({ route, field, label, char })),
  )

  it.each(nameCases)('$route refuses $label inside $field with 422 validation', async ({ route, field, char }) => {
    const r = ROUTES.find((x) => x.name === route)!
    const body = withField(r.valid(), field, `Acme${char}Corp`)
    const problem = await refused(() => send(r, { body }), 422, 'validation')
    expect(pathsOf(problem)).toEqual([`body.${field}`])
  })

  const EMAIL_FIELDS: Array<[string, string]> = [
    ['POST /ops/v1/bootstrap', 'email'],
    ['POST /ops/v1/auth/login', 'email'],
    ['POST /ops/v1/tenants', 'contact_email'],
    ['POST /ops/v1/tenants', 'admin.email'],
    ['PATCH /ops/v1/tenants/{id}', 'contact_email'],
    ['POST /api/v1/auth/login', 'email'],
  ]
  const hugeEmail = `${'a'.repeat(10 * 1024)}@example.com`

  it.each(EMAIL_FIELDS)('%s refuses a 10 KB e-mail in %s with 422 validation', async (route, field) => {
    const r = ROUTES.find((x) => x.name === route)!
    const problem = await refused(() => send(r, { body: withField(r.valid(), field, hugeEmail) }), 422, 'validation')
    expect(pathsOf(problem)).toEqual([`body.${field}`])
  })

  it.each([
    ['a right-to-left override', 'acme\u202Eevil'],
    ['a zero-width space', 'ac\u200Bme'],
    ['a zero-width joiner', 'ac\u200Dme'],
    ['a byte-order mark', '\uFEFFacme'],
    ['a Cyrillic look-alike letter', '\u0430cme'],
    ['full-width letters', '\uFF41\uFF43\uFF4D\uFF45'],
    ['upper-case letters', 'ACME'],
    ['a trailing hyphen', 'acme-'],
  ])('POST /ops/v1/tenants refuses a slug with %s with 422 validation', async (_, slug) => {
    const problem = await refused(() => send(tenantCreate, { body: { ...tenantCreate.valid(), slug } }), 422, 'validation')
    expect(pathsOf(problem)).toEqual(['body.slug'])
  })

  const BAD_COLLECTIONS: Array<[string, string]> = [
    ['an SQL statement', "'; DROP TABLE tenants;--"],
    ['an SQL tautology', "customers' OR '1'='1"],
    ['a path traversal', '../../etc/passwd'],
    ['a space', 'my customers'],
    ['nothing', ''],
    ['65 characters', 'c'.repeat(65)],
  ]
  const collectionCases = ['POST /api/v1/records', 'PUT /api/v1/records/{id}'].flatMap((route) =>
    BAD_COLLECTIONS.map(([label, collection]) => ({ route, label, collection })),
  )

  it.each(collectionCases)('$route refuses a collection that is $label with 422 validation', async ({ route, collection }) => {
    const r = ROUTES.find((x) => x.name === route)!
    const problem = await refused(() => send(r, { body: { ...r.valid(), collection } }), 422, 'validation')
    expect(pathsOf(problem)).toEqual(['body.collection'])
  })

  const hostileData = {
    drop: "'; DROP TABLE tenants;--",
    tautology: "' OR '1'='1",
    comment: 'x/* */--',
    quotes: `"double" 'single' \`back\``,
    backslashes: '\\\\; \\x00',
    nul: 'before\u0000after',
    bidi: 'abc\u202Edef\u200B',
    emoji: '🔒 守り',
    lone_surrogate: '\uD800',
    html: '<script>alert(1)</script>',
    nested: { "'; DELETE FROM records;--": ["') OR 1=1--", null, 0, -0.5, true] },
  }

  it('stores SQL-ish and unusual strings in record data verbatim and returns them unchanged', async () => {
    const countsBefore = await snapshotCounts()
    const created = await call('POST', '/api/v1/records', {
      token: ctx.tenant.adminToken,
      body: { collection: 'hostile', data: hostileData },
    })
    expect(created.status).toBe(201)
    expect(created.body.data).toEqual(hostileData)
    const read = await call('GET', `/api/v1/records/${created.body.id}`, { token: ctx.tenant.adminToken })
    expect(read.status).toBe(200)
    expect(read.body.data).toEqual(hostileData)
    const row = await env.DB.prepare('SELECT data FROM records WHERE id = ?').bind(created.body.id).first<{ data: string }>()
    expect(JSON.parse(row!.data)).toEqual(hostileData)
    expect(await snapshotCounts()).toEqual({
      ...countsBefore,
      records: countsBefore.records! + 1,
      audit_events: countsBefore.audit_events! + 1,
    })
  })

  it('replaces record data with SQL-ish strings verbatim on PUT', async () => {
    const data = { name: "Robert'); DROP TABLE records;--", filter: "1; UPDATE users SET role='admin'" }
    const users = (await env.DB.prepare('SELECT * FROM users ORDER BY id').all()).results
    const updated = await call('PUT', `/api/v1/records/${ctx.recordId}`, {
      token: ctx.tenant.adminToken,
      body: { collection: 'customers', data },
    })
    expect(updated.status).toBe(200)
    expect(updated.body.data).toEqual(data)
    const read = await call('GET', `/api/v1/records/${ctx.recordId}`, { token: ctx.tenant.adminToken })
    expect(read.body.data).toEqual(data)
    expect((await env.DB.prepare('SELECT * FROM users ORDER BY id').all()).results).toEqual(users)
  })

  it('refuses a "__proto__" top-level key as an unknown field with 422 validation', async () => {
    const raw = '{"collection":"customers","data":{},"__proto__":{"is_admin":true}}'
    const records = ROUTES.find((r) => r.name === 'POST /api/v1/records')!
    const problem = await refused(() => send(records, { raw, headers: { 'Content-Type': 'application/json' } }), 422, 'validation')
    expect(problem.errors).toEqual([{ path: 'body', code: 'unrecognized_keys', message: 'Unrecognized key: "__proto__"' }])
  })

  it('stores a "__proto__" key in record data verbatim instead of silently dropping it', async () => {
    const raw = '{"collection":"customers","data":{"__proto__":{"polluted":true},"ok":1}}'
    const sent = JSON.parse(raw).data as Body
    expect(Object.keys(sent)).toEqual(['__proto__', 'ok'])
    const created = await call('POST', '/api/v1/records', {
      token: ctx.tenant.adminToken,
      raw,
      headers: { 'Content-Type': 'application/json' },
    })
    expect(created.status).toBe(201)
    const row = await env.DB.prepare('SELECT data FROM records WHERE id = ?').bind(created.body.id).first<{ data: string }>()
    expect(row!.data).toBe(JSON.stringify(sent))
  })

  it('treats an SQL-ish audit filter as a plain value that matches nothing', async () => {
    const before = await storedState()
    const reply = await call('GET', `/api/v1/audit?actor=${encodeURIComponent("' OR '1'='1")}`, { token: ctx.tenant.adminToken })
    expect(reply.status).toBe(200)
    expect(reply.body).toEqual({ items: [], next_cursor: null })
    expect(await storedState()).toEqual(before)
  })
})

describe('record data', () => {
  const create = ROUTES.find((r) => r.name === 'POST /api/v1/records')!
  const update = ROUTES.find((r) => r.name === 'PUT /api/v1/records/{id}')!
  const writes = [create, update]

  const NOT_OBJECTS: Array<[string, unknown]> = [
    ['an array', [{ name: 'Acme' }]],
    ['a string', '{"name":"Acme"}'],
    ['null', null],
    ['a number', 1],
    ['a boolean', true],
  ]
  const notObjectCases = writes.flatMap((r) => NOT_OBJECTS.map(([label, data]) => ({ route: r.name, label, data })))

  it.each(notObjectCases)('$route refuses data that is $label with 422 validation', async ({ route, data }) => {
    const r = ROUTES.find((x) => x.name === route)!
    const problem = await refused(() => send(r, { body: { collection: 'customers', data } }), 422, 'validation')
    expect(pathsOf(problem)).toEqual(['body.data'])
  })

  it.each(writes.map((r) => r.name))('%s refuses data missing altogether with 422 validation', async (route) => {
    const r = ROUTES.find((x) => x.name === route)!
    const problem = await refused(() => send(r, { body: { collection: 'customers' } }), 422, 'validation')
    expect(pathsOf(problem)).toEqual(['body.data'])
  })

  it.each(writes.map((r) => r.name))('%s refuses data nested 40 levels deep with 422 validation', async (route) => {
    const r = ROUTES.find((x) => x.name === route)!
    const problem = await refused(() => send(r, { body: { collection: 'customers', data: nested(40) } }), 422, 'validation')
    expect(problem.errors).toEqual([{ path: 'body.data', code: 'custom', message: 'Nested deeper than 32 levels.' }])
  })

  it('refuses data nested 33 levels deep, one past the limit', async () => {
    const problem = await refused(() => send(create, { body: { collection: 'customers', data: nested(33) } }), 422, 'validation')
    expect(pathsOf(problem)).toEqual(['body.data'])
  })

  it('accepts data nested exactly 32 levels deep', async () => {
    const reply = await send(create, { body: { collection: 'deep', data: nested(32) } })
    expect(reply.status).toBe(201)
    expect(reply.body.data).toEqual(nested(32))
  })

  it('refuses data nested 100 000 levels deep with 422, not a crash', async () => {
    const raw = `{"collection":"deep","data":${'{"a":'.repeat(100_000)}{}${'}'.repeat(100_000)}}`
    expect(raw.length).toBeLessThan(MAX_BODY_BYTES)
    const problem = await refused(() => send(create, { raw, headers: { 'Content-Type': 'application/json' } }), 422, 'validation')
    expect(pathsOf(problem)).toEqual(['body.data'])
  })

  /** `{"s":"xxx…"}` serialised to exactly `bytes` bytes. */
  const dataOfSize = (bytes: number) => ({ s: 'x'.repeat(bytes - '{"s":""}'.length) })

  it.each(writes.map((r) => r.name))('%s refuses data one byte over 64 KiB serialised with 422 validation', async (route) => {
    const r = ROUTES.find((x) => x.name === route)!
    const data = dataOfSize(RECORD_DATA_MAX_BYTES + 1)
    expect(JSON.stringify(data).length).toBe(RECORD_DATA_MAX_BYTES + 1)
    const problem = await refused(() => send(r, { body: { collection: 'customers', data } }), 422, 'validation')
    expect(problem.errors).toEqual([{ path: 'body.data', code: 'custom', message: 'Larger than 65536 bytes as JSON.' }])
  })

  it('accepts data of exactly 64 KiB serialised', async () => {
    const data = dataOfSize(RECORD_DATA_MAX_BYTES)
    const reply = await send(create, { body: { collection: 'big', data } })
    expect(reply.status).toBe(201)
    expect(reply.body.data).toEqual(data)
  })

  it('measures the 64 KiB in UTF-8 bytes, not characters', async () => {
    const data = { s: 'あ'.repeat(21_843) }
    expect(JSON.stringify(data).length).toBeLessThan(RECORD_DATA_MAX_BYTES)
    expect(new TextEncoder().encode(JSON.stringify(data)).length).toBe(RECORD_DATA_MAX_BYTES + 1)
    const problem = await refused(() => send(create, { body: { collection: 'customers', data } }), 422, 'validation')
    expect(pathsOf(problem)).toEqual(['body.data'])
  })
})

describe('query strings', () => {
  const LISTS = ['/api/v1/records', '/ops/v1/tenants', '/api/v1/audit']
  const tokenFor = (path: string) => (path.startsWith('/ops/') ? ctx.ops : ctx.tenant.adminToken)

  const BAD_QUERIES: Array<{ query: string; errors: unknown[] }> = [
    { query: 'limit=0', errors: [{ path: 'query.limit', code: 'too_small', message: expect.any(String) }] },
    { query: 'limit=201', errors: [{ path: 'query.limit', code: 'too_big', message: expect.any(String) }] },
    { query: 'limit=abc', errors: [{ path: 'query.limit', code: 'invalid_type', message: expect.any(String) }] },
    { query: 'limit=1.5', errors: [{ path: 'query.limit', code: 'invalid_type', message: expect.any(String) }] },
    { query: 'limit=-1', errors: [{ path: 'query.limit', code: 'too_small', message: expect.any(String) }] },
    { query: 'limit=10&limit=20', errors: [{ path: 'query.limit', code: 'invalid_type', message: expect.any(String) }] },
    { query: 'cursor=garbage!!', errors: [{ path: 'query.cursor', message: 'Not a cursor this API issued.' }] },
    // Valid base64url, but not a key this API ever issued.
    { query: `cursor=${btoa('1 OR 1=1').replace(/=+$/, '')}`, errors: [{ path: 'query.cursor', message: 'Not a cursor this API issued.' }] },
    { query: `cursor=${'A'.repeat(513)}`, errors: [{ path: 'query.cursor', code: 'too_big', message: expect.any(String) }] },
    {
      query: 'cursor=',
      errors: [{ path: 'query.cursor', code: 'too_small', message: 'An empty cursor is not a cursor: leave the parameter out for the first page.' }],
    },
    { query: 'limit=5&is_admin=1', errors: [{ path: 'query', code: 'unrecognized_keys', message: expect.stringContaining('"is_admin"') }] },
  ]
  const cases = LISTS.flatMap((path) => BAD_QUERIES.map((q) => ({ path, ...q })))

  it.each(cases)('GET $path?$query answers 422 validation', async ({ path, query, errors }) => {
    const problem = await refused(() => call('GET', `${path}?${query}`, { token: tokenFor(path) }), 422, 'validation')
    expect(problem.errors).toEqual(errors)
  })

  it.each([
    ['GET', '/api/v1/me', () => ctx.tenant.adminToken],
    // Public routes too (the health probes alone take any query: test/platform.test.ts).
    ['GET', '/status', () => undefined],
    ['GET', '/api/v1/policy', () => ctx.tenant.adminToken],
    ['GET', '/api/v1/audit/export?format=csv', () => ctx.tenant.adminToken],
    ['GET', '/api/v1/ledger?format=json', () => ctx.tenant.adminToken],
    ['GET', '/ops/v1/audit/verify?chain=platform', () => ctx.ops],
    ['POST', '/api/v1/auth/logout', () => ctx.member.token],
    ['DELETE', `/api/v1/records/rec_${'0'.repeat(26)}`, () => ctx.tenant.adminToken],
  ])('%s %s refuses an unknown query parameter with 422 naming it', async (method, path, token) => {
    const t = token()
    const url = `${path}${path.includes('?') ? '&' : '?'}debug=true`
    const problem = await refused(() => call(method, url, t ? { token: t } : {}), 422, 'validation')
    expect(problem.errors).toEqual([{ path: 'query', code: 'unrecognized_keys', message: expect.stringContaining('"debug"') }])
  })

  it.each([
    ['collection', "'; DROP TABLE records;--"],
    ['collection', 'a b'],
  ])('GET /api/v1/records refuses %s=%j with 422 validation', async (name, value) => {
    const problem = await refused(
      () => call('GET', `/api/v1/records?${name}=${encodeURIComponent(value)}`, { token: ctx.tenant.adminToken }),
      422,
      'validation',
    )
    expect(pathsOf(problem)).toEqual([`query.${name}`])
  })

  it.each([
    ['category', 'everything'],
    ['since', 'yesterday'],
    ['until', '2026-13-45T99:00:00Z'],
    ['actor', 'a'.repeat(65)],
  ])('GET /api/v1/audit refuses %s=%j with 422 validation', async (name, value) => {
    const problem = await refused(
      () => call('GET', `/api/v1/audit?${name}=${encodeURIComponent(value)}`, { token: ctx.tenant.adminToken }),
      422,
      'validation',
    )
    expect(pathsOf(problem)).toEqual([`query.${name}`])
  })
})

describe('ids in paths', () => {
  /** The problem minus what legitimately differs between two requests (request ID, the echoed id). */
  const comparable = (problem: Record<string, unknown>, id: string) => {
    const { request_id: _, ...rest } = problem
    return { ...rest, detail: String(rest.detail).replace(JSON.stringify(id), '"<id>"') }
  }

  const MISSING_RECORD = `rec_${'0'.repeat(26)}`

  /** [label, path segment as sent, id as the server decodes it] */
  const BAD_RECORD_IDS: Array<[string, () => string, () => string]> = [
    ['an encoded path traversal', () => '..%2F..', () => '../..'],
    ['a 64-character id', () => `rec_${'a'.repeat(60)}`, () => `rec_${'a'.repeat(60)}`],
    ['rec_ with letters outside the id alphabet', () => `rec_${'ilou'.repeat(6)}IL`, () => `rec_${'ilou'.repeat(6)}IL`],
    ['an encoded NUL byte', () => '%00', () => '\u0000'],
    ['broken percent-encoding', () => '%E0%A4%A', () => '%E0%A4%A'],
    ['an encoded SQL tautology', () => encodeURIComponent("rec_' OR '1'='1"), () => "rec_' OR '1'='1"],
    ['a real id of another kind (a user id)', () => ctx.tenant.adminId, () => ctx.tenant.adminId],
    ['another tenant\u2019s real record id', () => ctx.otherRecordId, () => ctx.otherRecordId],
  ]

  const METHODS = ['GET', 'PUT', 'DELETE'] as const
  const bodyFor = (method: string) => (method === 'PUT' ? { body: { collection: 'customers', data: { x: 1 } } } : {})

  const cases = METHODS.flatMap((method) =>
    BAD_RECORD_IDS.map(([label, sent, seen]) => ({ method, label, sent, seen })),
  )

  it.each(cases)('$method /api/v1/records/{id} answers $label with the same 404 as a missing id', async ({ method, sent, seen }) => {
    const token = ctx.tenant.adminToken
    const missing = expectProblem(await call(method, `/api/v1/records/${MISSING_RECORD}`, { token, ...bodyFor(method) }), 404, 'not-found')
    expect(missing.detail).toBe(`No record with id "${MISSING_RECORD}".`)
    const problem = await refused(() => call(method, `/api/v1/records/${sent()}`, { token, ...bodyFor(method) }), 404, 'not-found')
    expect(problem.detail).toBe(`No record with id ${JSON.stringify(seen())}.`)
    expect(comparable(problem, seen())).toEqual(comparable(missing, MISSING_RECORD))
  })

  it('leaves another tenant\u2019s record untouched after a PUT and DELETE of its id', async () => {
    const token = ctx.tenant.adminToken
    expect((await call('PUT', `/api/v1/records/${ctx.otherRecordId}`, { token, ...bodyFor('PUT') })).status).toBe(404)
    expect((await call('DELETE', `/api/v1/records/${ctx.otherRecordId}`, { token })).status).toBe(404)
    const theirs = await call('GET', `/api/v1/records/${ctx.otherRecordId}`, { token: ctx.other.adminToken })
    expect(theirs.status).toBe(200)
    expect(theirs.body.data).toEqual({ name: 'Theirs' })
  })

  it.each(METHODS)('%s /api/v1/records/{id} answers an id of 10,000 characters with the same 404 as a missing id', async (method) => {
    const token = ctx.tenant.adminToken
    const long = `rec_${'a'.repeat(10_000)}`
    const missing = expectProblem(await call(method, `/api/v1/records/${MISSING_RECORD}`, { token, ...bodyFor(method) }), 404, 'not-found')
    const problem = await refused(() => call(method, `/api/v1/records/${long}`, { token, ...bodyFor(method) }), 404, 'not-found')
    expect(comparable(problem, long)).toEqual(comparable(missing, MISSING_RECORD))
  })

  it.each([
    ['GET', '/api/v1/users/{id}'],
    ['PATCH', '/api/v1/users/{id}'],
    ['DELETE', '/api/v1/users/{id}'],
    ['POST', '/api/v1/users/{id}/reset-password'],
    ['GET', '/api/v1/users/{id}/certificates'],
    ['DELETE', '/api/v1/files/{id}'],
    ['DELETE', '/api/v1/sessions/{id}'],
  ])('%s %s answers an id of 65 characters with 404, not 422', async (method, template) => {
    const body = method === 'PATCH' ? { body: { name: 'Renamed' } } : {}
    const reply = await refused(() => call(method, template.replace('{id}', `usr_${'a'.repeat(61)}`), { token: ctx.tenant.adminToken, ...body }), 404, 'not-found')
    expect(reply.errors).toBeUndefined()
  })

  it.each([
    ['GET', '/ops/v1/tenants/{id}'],
    ['GET', '/ops/v1/tenants/{id}/records'],
    ['POST', `/ops/v1/tenants/{id}/users/usr_${'0'.repeat(26)}/reset-password`],
  ])('%s %s answers a tenant id of 65 characters with 404, not 422', async (method, template) => {
    await refused(() => call(method, template.replace('{id}', `tn_${'a'.repeat(62)}`), { token: ctx.ops }), 404, 'not-found')
  })

  it('POST /ops/v1/tenants/{id}/users/{userId}/reset-password answers a user id of 65 characters with 404', async () => {
    await refused(
      () => call('POST', `/ops/v1/tenants/${ctx.tenant.id}/users/usr_${'a'.repeat(61)}/reset-password`, { token: ctx.ops }),
      404,
      'not-found',
    )
  })

  const MISSING_TENANT = `tn_${'0'.repeat(26)}`
  const BAD_TENANT_IDS: Array<[string, () => string, () => string]> = [
    ['an encoded path traversal', () => '..%2F..', () => '../..'],
    ['tn_ with letters outside the id alphabet', () => `tn_${'U'.repeat(26)}`, () => `tn_${'U'.repeat(26)}`],
    ['a real id of another kind (a record id)', () => ctx.recordId, () => ctx.recordId],
  ]
  const tenantCases = (['GET', 'PATCH'] as const).flatMap((method) =>
    BAD_TENANT_IDS.map(([label, sent, seen]) => ({ method, label, sent, seen })),
  )

  it.each(tenantCases)('$method /ops/v1/tenants/{id} answers $label with the same 404 as a missing id', async ({ method, sent, seen }) => {
    const options = { token: ctx.ops, ...(method === 'PATCH' ? { body: { name: 'Hijacked' } } : {}) }
    const missing = expectProblem(await call(method, `/ops/v1/tenants/${MISSING_TENANT}`, options), 404, 'not-found')
    const problem = await refused(() => call(method, `/ops/v1/tenants/${sent()}`, options), 404, 'not-found')
    expect(problem.detail).toBe(`No tenant with id ${JSON.stringify(seen())}.`)
    expect(comparable(problem, seen())).toEqual(comparable(missing, MISSING_TENANT))
  })
})

