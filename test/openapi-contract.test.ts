import { SELF } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  BOOTSTRAP_TOKEN,
  ORIGIN,
  call,
  operator,
  operatorSignIn,
  signIn,
  tenantWithAdmin,
  userOf,
  type TestTenant,
  type TestUser,
} from './helpers'

/**
 * The document tells the truth: every operation of /openapi.json gets
 * inputs generated from its own schemas, valid and invalid, sent as the
 * role its `x-access` declares, and every answer must be one the document
 * declares for that operation, with a body of the declared shape. Valid
 * inputs are never refused by the request schema (the server is no stricter
 * than the document); invalid ones are always refused (no looser).
 */

type Schema = Record<string, any>
type Operation = {
  method: string
  path: string
  op: Record<string, any>
  access: { audience: string; permission?: string; role?: string }
}
type Input = {
  label: string
  path: string
  query: Array<[string, string]>
  body?: { raw: BodyInit; type: string } | undefined
  /** Sent as the caller the operation's x-access names (else with no credentials). */
  authenticated: boolean
  /** What the answer must be, beyond being declared. */
  expect: 'any' | 'refused' | 'not-found' | 'unauthenticated'
}
type Answer = { status: number; type: string; text: string }

const EVERY_PERMISSION = ['records:read', 'records:write', 'files:read', 'files:write', 'download', 'export', 'audit:read']

// ---------------------------------------------------------------- randomness

/** mulberry32: the same document always yields the same inputs. */
function rng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const random = rng(20261107)
const pick = <T,>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!

// ---------------------------------------------------------------- the document

let doc: Schema

function resolve(schema: Schema | undefined): Schema {
  let s = schema ?? {}
  for (let i = 0; s.$ref && i < 10; i++) {
    s = s.$ref.replace(/^#\//, '').split('/').reduce((node: Schema, key: string) => node[key], doc)
  }
  return s
}

/** JSON Schema 2020-12 patterns are ECMA-262 with Unicode semantics. */
const patternOf = (source: string) => new RegExp(source, 'u')

// ---------------------------------------------------------------- a small validator

function typeOf(value: unknown) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number'
  return typeof value
}

function typeMatches(expected: string, value: unknown) {
  const actual = typeOf(value)
  return expected === actual || (expected === 'number' && actual === 'integer')
}

/** Every way `value` departs from `schema`, as readable strings (empty: it conforms). */
function check(schemaIn: Schema, value: unknown, at = '$'): string[] {
  const schema = resolve(schemaIn)
  const errors: string[] = []
  const fail = (why: string) => errors.push(`${at}: ${why}`)
  if (schema.allOf) for (const s of schema.allOf) errors.push(...check(s, value, at))
  if (schema.anyOf && !schema.anyOf.some((s: Schema) => check(s, value, at).length === 0)) fail('matches no anyOf branch')
  if (schema.oneOf && schema.oneOf.filter((s: Schema) => check(s, value, at).length === 0).length !== 1) fail('matches not exactly one oneOf branch')
  if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(value)) fail(`is not ${JSON.stringify(schema.const)}`)
  if (schema.enum && !schema.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value))) fail(`${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`)
  const types: string[] | undefined = schema.type === undefined ? undefined : [schema.type].flat()
  if (schema.nullable && value === null) return errors
  if (types && !types.some((t) => typeMatches(t, value))) {
    fail(`is ${typeOf(value)}, not ${types.join('|')}`)
    return errors
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && [...value].length < schema.minLength) fail(`shorter than ${schema.minLength}`)
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) fail(`longer than ${schema.maxLength}`)
    if (schema.pattern !== undefined && !patternOf(schema.pattern).test(value)) fail(`does not match ${schema.pattern}`)
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) fail('is not a date-time')
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`below ${schema.minimum}`)
    if (schema.maximum !== undefined && value > schema.maximum) fail(`above ${schema.maximum}`)
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) fail(`not above ${schema.exclusiveMinimum}`)
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) fail(`not below ${schema.exclusiveMaximum}`)
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail(`fewer than ${schema.minItems} items`)
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(`more than ${schema.maxItems} items`)
    if (schema.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) fail('has duplicate items')
    if (schema.items) value.forEach((v, i) => errors.push(...check(schema.items, v, `${at}[${i}]`)))
  }
  if (typeOf(value) === 'object') {
    const object = value as Record<string, unknown>
    const properties: Record<string, Schema> = schema.properties ?? {}
    for (const key of schema.required ?? []) if (!(key in object)) fail(`lacks required ${key}`)
    if (schema.minProperties !== undefined && Object.keys(object).length < schema.minProperties) fail(`fewer than ${schema.minProperties} properties`)
    for (const [key, v] of Object.entries(object)) {
      if (properties[key]) errors.push(...check(properties[key]!, v, `${at}.${key}`))
      else if (schema.additionalProperties === false) fail(`has unknown property ${key}`)
      else if (typeof schema.additionalProperties === 'object') errors.push(...check(schema.additionalProperties, v, `${at}.${key}`))
    }
  }
  return errors
}

// ---------------------------------------------------------------- strings from patterns

type RegexNode =
  | { kind: 'class'; source: string; min: number; max: number }
  | { kind: 'group'; options: RegexNode[][]; lookaround: boolean; min: number; max: number }

/** Characters a generated string may use: URL-safe once encoded, and some beyond ASCII. */
const POOL = [...'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789_-.+:あé']

/** Parses the subset of ECMA-262 the document's patterns use into something to generate from. */
function parseRegex(source: string): RegexNode[][] {
  let i = 0
  const quantifier = (): { min: number; max: number } => {
    const ch = source[i]
    let q = { min: 1, max: 1 }
    if (ch === '*') q = { min: 0, max: Infinity }
    else if (ch === '+') q = { min: 1, max: Infinity }
    else if (ch === '?') q = { min: 0, max: 1 }
    else if (ch === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i))
      if (!m) return q
      i += m[0].length
      const min = Number(m[1])
      if (source[i] === '?') i++
      return { min, max: m[2] === undefined ? min : m[3] ? Number(m[3]) : Infinity }
    } else return q
    i++
    if (source[i] === '?') i++
    return q
  }
  const alternatives = (): RegexNode[][] => {
    const options: RegexNode[][] = [[]]
    while (i < source.length && source[i] !== ')') {
      const ch = source[i]!
      if (ch === '|') {
        options.push([])
        i++
        continue
      }
      if (ch === '^' || ch === '$') {
        i++
        continue
      }
      let node: RegexNode
      if (ch === '(') {
        i++
        let lookaround = false
        if (source.startsWith('?:', i)) i += 2
        else if (/^\?<?[=!]/.test(source.slice(i))) {
          lookaround = true
          i += source[i + 1] === '<' ? 3 : 2
        }
        const inner = alternatives()
        i++ // ')'
        node = { kind: 'group', options: inner, lookaround, min: 1, max: 1 }
      } else if (ch === '[') {
        let j = i + 1
        while (source[j] !== ']') j += source[j] === '\\' ? 2 : 1
        node = { kind: 'class', source: source.slice(i, j + 1), min: 1, max: 1 }
        i = j + 1
      } else if (ch === '\\') {
        const m = /^\\[pP]\{[^}]+\}/.exec(source.slice(i))
        const text = m ? m[0] : source.slice(i, i + 2)
        i += text.length
        node = { kind: 'class', source: /^\\[dDwWsSpP]/.test(text) ? text : text, min: 1, max: 1 }
      } else {
        i++
        node = { kind: 'class', source: ch === '.' ? '.' : ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), min: 1, max: 1 }
      }
      const q = quantifier()
      node.min = q.min
      node.max = q.max
      options[options.length - 1]!.push(node)
    }
    return options
  }
  return alternatives()
}

function fromRegex(options: RegexNode[][]): string {
  let out = ''
  for (const node of pick(options)) {
    if (node.kind === 'group' && node.lookaround) continue
    const count = node.min + Math.floor(random() * (Math.min(node.max, node.min + 3) - node.min + 1))
    for (let n = 0; n < count; n++) {
      if (node.kind === 'group') out += fromRegex(node.options)
      else {
        const matcher = new RegExp(`^${node.source}$`, 'u')
        const allowed = POOL.filter((c) => matcher.test(c))
        out += allowed.length ? pick(allowed) : node.source.replace(/^\\/, '')
      }
    }
  }
  return out
}

// ---------------------------------------------------------------- valid values

function validString(schema: Schema): string {
  if (schema.format === 'date-time') return new Date().toISOString()
  if (schema.format === 'binary') return ''
  if (schema.pattern !== undefined) {
    const tree = parseRegex(schema.pattern)
    for (let attempt = 0; attempt < 200; attempt++) {
      const candidate = fromRegex(tree)
      if (check(schema, candidate).length === 0) return candidate
    }
    throw new Error(`cannot generate a string for ${schema.pattern}`)
  }
  if (typeof schema.example === 'string' && check(schema, schema.example).length === 0) return schema.example
  const length = Math.max(schema.minLength ?? 1, Math.min(schema.maxLength ?? 6, 6))
  return Array.from({ length }, () => pick(POOL.slice(0, 24))).join('')
}

/**
 * A value the schema accepts. `full` fills every optional property too;
 * otherwise only what is required (plus enough for minProperties).
 */
function valid(schemaIn: Schema, full: boolean): unknown {
  const schema = resolve(schemaIn)
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s: Schema) => valid(s, full)))
  if (schema.oneOf ?? schema.anyOf) return valid((schema.oneOf ?? schema.anyOf)[0], full)
  if ('const' in schema) return schema.const
  if (schema.enum) return schema.enum[0]
  const type = [schema.type ?? (schema.properties ? 'object' : 'string')].flat().find((t: string) => t !== 'null')
  switch (type) {
    case 'string':
      return validString(schema)
    case 'integer':
    case 'number': {
      if (typeof schema.example === 'number') return schema.example
      const low = schema.minimum ?? (typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + 1 : 1)
      return Math.min(low, schema.maximum ?? low)
    }
    case 'boolean':
      return false
    case 'null':
      return null
    case 'array': {
      const count = Math.min(Math.max(schema.minItems ?? 0, 1), schema.maxItems ?? 1)
      const items: unknown[] = []
      const itemSchema = resolve(schema.items)
      for (let attempt = 0; items.length < count && attempt < 50; attempt++) {
        const item = itemSchema.enum ? itemSchema.enum[(items.length + attempt) % itemSchema.enum.length] : valid(itemSchema, full)
        if (!schema.uniqueItems || !items.some((x) => JSON.stringify(x) === JSON.stringify(item))) items.push(item)
      }
      return items
    }
    case 'object': {
      if (!schema.properties && schema.example) return schema.example
      const result: Record<string, unknown> = {}
      const required: string[] = schema.required ?? []
      const optional = Object.keys(schema.properties ?? {}).filter((k) => !required.includes(k))
      for (const key of required) result[key] = valid(schema.properties[key], full)
      for (const key of optional) {
        if (full || Object.keys(result).length < (schema.minProperties ?? 0)) result[key] = valid(schema.properties[key], full)
      }
      return result
    }
  }
  return null
}

// ---------------------------------------------------------------- invalid values

/** A value of the wrong JSON type for the schema. */
function wrongType(schemaIn: Schema): unknown {
  const schema = resolve(schemaIn)
  const type = [schema.type ?? 'string'].flat()[0]
  return type === 'string' ? 12345 : type === 'array' ? { not: 'a list' } : type === 'object' ? ['not', 'an', 'object'] : 'not-a-number-or-boolean'
}

const BAD_STRINGS = ['', ' ', '\u0000', 'bell\u0007', 'a/b', '!!', '..', '.', '@', 'UPPER', '-', 'x'.repeat(300)]

/** Values that break one declared constraint of a scalar schema (not its type). */
function violations(schemaIn: Schema): Array<[string, unknown]> {
  const schema = resolve(schemaIn)
  const out: Array<[string, unknown]> = []
  const type = [schema.type].flat()[0]
  if (schema.enum) out.push(['not in the enum', 'not-a-member'])
  if (type === 'string' && !schema.enum) {
    if (schema.maxLength !== undefined) out.push([`longer than ${schema.maxLength}`, 'a'.repeat(schema.maxLength + 1)])
    if (schema.minLength) out.push([`shorter than ${schema.minLength}`, 'a'.repeat(schema.minLength - 1)])
    if (schema.pattern !== undefined) {
      const pattern = patternOf(schema.pattern)
      const bad = BAD_STRINGS.find((s) => s.length > 0 && s.length <= (schema.maxLength ?? Infinity) && !pattern.test(s))
      if (bad !== undefined) out.push([`not matching ${schema.pattern}`, bad])
    }
  }
  if (type === 'integer') out.push(['a fraction', 1.5])
  if ((type === 'integer' || type === 'number') && schema.minimum !== undefined) out.push([`below ${schema.minimum}`, schema.minimum - 1])
  if ((type === 'integer' || type === 'number') && schema.maximum !== undefined) out.push([`above ${schema.maximum}`, schema.maximum + 1])
  if (type === 'array') {
    const item = valid(schema.items, false)
    if (schema.maxItems !== undefined && schema.maxItems < 50) out.push([`more than ${schema.maxItems} items`, Array.from({ length: schema.maxItems + 1 }, () => valid(schema.items, false))])
    if (schema.uniqueItems) out.push(['a duplicate item', [item, item]])
    for (const [why, v] of violations(schema.items)) out.push([`an item ${why}`, [v]])
  }
  return out
}

/** Invalid variants of a valid body: each breaks exactly one rule of the schema, at any depth. */
function invalidBodies(schemaIn: Schema, base: unknown): Array<[string, unknown]> {
  const schema = resolve(schemaIn)
  const out: Array<[string, unknown]> = []
  if (typeOf(base) !== 'object' || !schema.properties) return out
  const object = base as Record<string, unknown>
  if (schema.additionalProperties === false) out.push(['an unknown property', { ...object, zz_unknown: 1 }])
  for (const key of schema.required ?? []) {
    const { [key]: _dropped, ...rest } = object
    out.push([`without required ${key}`, rest])
  }
  if ((schema.minProperties ?? 0) > 0 && !(schema.required ?? []).length) out.push(['no property at all', {}])
  for (const [key, propSchema] of Object.entries<Schema>(schema.properties)) {
    const current = key in object ? object[key] : valid(propSchema, false)
    out.push([`${key} of the wrong type`, { ...object, [key]: wrongType(propSchema) }])
    for (const [why, v] of violations(propSchema)) out.push([`${key} ${why}`, { ...object, [key]: v }])
    for (const [why, v] of invalidBodies(propSchema, current)) out.push([`${key}: ${why}`, { ...object, [key]: v }])
  }
  return out
}

// ---------------------------------------------------------------- requests and answers

function parameters(op: Record<string, any>, where: 'path' | 'query') {
  return ((op.parameters ?? []) as Array<Schema>).filter((p) => p.in === where)
}

function jsonBodySchema(op: Record<string, any>): Schema | undefined {
  return op.requestBody?.content?.['application/json']?.schema
}

function pathWith(template: string, values: Record<string, string>) {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? 'missing'))
}

async function send(operation: Operation, input: Input): Promise<Answer> {
  const url = new URL(`${ORIGIN}${input.path}`)
  for (const [k, v] of input.query) url.searchParams.append(k, v)
  const headers: Record<string, string> = {}
  const token = input.authenticated ? await callerFor(operation) : undefined
  if (token) headers.Authorization = `Bearer ${token}`
  if (input.body) headers['Content-Type'] = input.body.type
  const res = await SELF.fetch(url, { method: operation.method.toUpperCase(), headers, body: input.body?.raw })
  return { status: res.status, type: res.headers.get('Content-Type') ?? '', text: await res.text() }
}

/** One JSON document (not NDJSON, a stream of them). */
const isJson = (media: string) => /^application\/([\w.-]+\+)?json$/.test(media)

/** What is wrong with an answer, judged by the document alone (empty: nothing). */
function judge(operation: Operation, input: Input, answer: Answer): string[] {
  const { op } = operation
  const where = `${operation.method.toUpperCase()} ${operation.path} [${input.label}] → ${answer.status}`
  const declared = op.responses[String(answer.status)] ?? op.responses.default
  if (answer.status >= 500) return [`${where}: a server error: ${answer.text.slice(0, 300)}`]
  if (!declared) return [`${where}: status not declared (declared: ${Object.keys(op.responses).join(', ')}): ${answer.text.slice(0, 300)}`]
  const content: Record<string, Schema> = declared.content ?? {}
  if (!answer.text) return []
  if (!Object.keys(content).length) return [`${where}: a body where the document declares none`]
  const media = answer.type.split(';')[0]!.trim()
  if (!(media in content)) return [`${where}: Content-Type ${media} not declared (${Object.keys(content).join(', ')})`]
  if (!isJson(media)) return []
  let body: unknown
  try {
    body = JSON.parse(answer.text)
  } catch {
    return [`${where}: not JSON`]
  }
  const problems = check(content[media]!.schema ?? {}, body).map((e) => `${where}: ${e}`)
  if (media === 'application/problem+json' && (body as { status?: unknown }).status !== answer.status) problems.push(`${where}: problem status differs`)
  return problems
}

/** What the input's intent requires of the answer, beyond the document. */
function intentMet(input: Input, answer: Answer): string | null {
  const body = isJson(answer.type.split(';')[0]!.trim()) && answer.text ? JSON.parse(answer.text) : null
  switch (input.expect) {
    case 'refused':
      return [400, 415, 422].includes(answer.status) ? null : `expected a refusal (400/415/422), got ${answer.status}: ${answer.text.slice(0, 200)}`
    case 'not-found':
      return answer.status === 404 ? null : `expected 404 like an unknown id, got ${answer.status}: ${answer.text.slice(0, 200)}`
    case 'unauthenticated':
      return answer.status === 401 ? null : `expected 401 without credentials, got ${answer.status}`
    case 'any': {
      // A schema-level refusal of a document-valid input: the document is looser than the server.
      const schemaErrors = answer.status === 422 && Array.isArray(body?.errors) ? body.errors.filter((e: { code?: string }) => e.code) : []
      return schemaErrors.length ? `a document-valid input was refused by the schema: ${JSON.stringify(schemaErrors)}` : null
    }
  }
}

// ---------------------------------------------------------------- fixtures

const ctx = {
  ops: '',
  tenant: null as unknown as TestTenant,
  member: null as unknown as TestUser,
  target: null as unknown as TestUser,
  other: null as unknown as TestTenant,
  recordId: '',
  fileId: '',
  sessionId: '',
}

/** The real ids a valid request of an operation uses, by path parameter. */
function fixtureIds(operation: Operation): Record<string, string> {
  const { path } = operation
  if (path.startsWith('/ops/v1/tenants/{id}')) return { id: ctx.other.id, userId: ctx.other.adminId }
  if (path.startsWith('/api/v1/records/')) return { id: ctx.recordId }
  if (path.startsWith('/api/v1/users/')) return { id: ctx.target.id }
  if (path.startsWith('/api/v1/sessions/')) return { id: ctx.sessionId }
  if (path.startsWith('/api/v1/files/')) return { file: operation.method === 'put' ? `contract-${Math.floor(random() * 1e9)}.txt` : ctx.fileId }
  return {}
}

/** The caller the operation's x-access names. An operation that ends its own session gets a fresh one each time. */
async function callerFor(operation: Operation): Promise<string | undefined> {
  const { access, path } = operation
  const endsOwnSession = /\/auth\/logout$/.test(path)
  switch (access.audience) {
    case 'public':
      return undefined
    case 'bootstrap':
      return BOOTSTRAP_TOKEN
    case 'operator':
      return endsOwnSession ? operatorSignIn() : ctx.ops
    default:
      if (access.role === 'admin') return ctx.tenant.adminToken
      return endsOwnSession ? signIn(ctx.tenant.slug, ctx.member.email, ctx.member.password) : ctx.member.token
  }
}

/** Reads first, then writes, then deletes; the policy last, since it can change who may sign in from where. */
function phase(operation: Operation) {
  if (operation.path === '/api/v1/policy' && operation.method === 'put') return 4
  return { get: 0, post: 1, put: 1, patch: 1, delete: 2 }[operation.method] ?? 3
}

function operations(): Operation[] {
  const list: Operation[] = []
  for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<Record<string, any>>(item)) {
      if (['get', 'put', 'post', 'delete', 'patch'].includes(method)) list.push({ method, path, op, access: op['x-access'] })
    }
  }
  return list.sort((a, b) => phase(a) - phase(b))
}

/** Every input for one operation: valid ones first (required only, then everything), then one per broken rule. */
function inputsFor(operation: Operation): Input[] {
  const { op } = operation
  const ids = fixtureIds(operation)
  const pathParams = parameters(op, 'path')
  // A form-exploded free-form object stands for "any query parameters" (health probes): nothing to break in it.
  const freeForm = (p: Schema) => p.style === 'form' && p.explode === true && resolve(p.schema).type === 'object'
  const anyQuery = parameters(op, 'query').some(freeForm)
  const queryParams = parameters(op, 'query').filter((p) => !freeForm(p))
  const validPath = pathWith(
    operation.path,
    Object.fromEntries(pathParams.map((p) => [p.name, ids[p.name] ?? String(valid(p.schema, false))])),
  )
  const query = (full: boolean): Array<[string, string]> =>
    queryParams
      .filter((p) => p.required || (full && p.name !== 'cursor'))
      .map((p) => [p.name, String(valid(p.schema, false))])
  const bodySchema = jsonBodySchema(op)
  const rawBody = op.requestBody?.content?.['application/octet-stream']
  const json = (value: unknown) => ({ raw: JSON.stringify(value), type: 'application/json' })
  const bodyFor = (full: boolean) => (bodySchema ? json(valid(bodySchema, full)) : rawBody ? { raw: 'contract test bytes', type: 'application/octet-stream' } : undefined)
  const base = { path: validPath, query: query(false), body: bodyFor(false), authenticated: true }
  const inputs: Input[] = [
    { ...base, label: 'valid, required only', expect: 'any' },
    { ...base, label: 'valid, every optional part', query: query(true), body: bodyFor(true), expect: 'any' },
  ]
  if (operation.access.audience !== 'public') inputs.push({ ...base, label: 'no credentials', authenticated: false, expect: 'unauthenticated' })

  // Path parameters: values the document refuses, and (for unconstrained ids) ids that simply do not exist.
  for (const p of pathParams) {
    const schema = resolve(p.schema)
    const others = Object.fromEntries(pathParams.map((q) => [q.name, ids[q.name] ?? String(valid(q.schema, false))]))
    const unconstrained = schema.pattern === undefined && schema.maxLength === undefined && !schema.enum
    if (unconstrained) {
      for (const [label, value] of [
        ['unknown id', `${ids[p.name]?.replace(/_.*/, '_') ?? 'xx_'}${'0'.repeat(26)}`],
        ['id of another kind', `zz_${'0'.repeat(26)}`],
        ['id of 200 characters', 'a'.repeat(200)],
        ['id with characters outside the alphabet', '..%2F!~*'],
      ] as const) {
        inputs.push({ ...base, label: `${p.name}: ${label}`, path: pathWith(operation.path, { ...others, [p.name]: value }), expect: 'not-found' })
      }
    }
    for (const [why, value] of violations(schema)) {
      const text = String(value)
      // An empty segment or a dot segment is another URL, not this operation with a bad value.
      if (!text || text === '.' || text === '..') continue
      inputs.push({ ...base, label: `${p.name} ${why}`, path: pathWith(operation.path, { ...others, [p.name]: text }), expect: 'refused' })
    }
  }

  // Query parameters: an unknown one, then each declared one broken in turn.
  inputs.push({ ...base, label: 'an unknown query parameter', query: [...base.query, ['zz_unknown', '1']], expect: anyQuery ? 'any' : 'refused' })
  for (const p of queryParams) {
    const rest = base.query.filter(([k]) => k !== p.name)
    const schema = resolve(p.schema)
    const bad: Array<[string, string]> = violations(schema).map(([why, v]) => [why, String(v)])
    if (schema.type === 'integer' || schema.type === 'number') bad.push(['not a number', 'abc'])
    if (schema.format === 'date-time') bad.push(['not a date-time', 'yesterday'])
    // An empty value is wrong only where the document says so: a number, an enum, a minimum length, a pattern.
    const emptyRefused =
      schema.type !== 'string' || schema.enum || schema.minLength > 0 || (schema.pattern !== undefined && !patternOf(schema.pattern).test(''))
    if (emptyRefused && !bad.some(([, v]) => v === '')) bad.push(['empty', ''])
    for (const [why, value] of bad) {
      inputs.push({ ...base, label: `query ${p.name} ${why}`, query: [...rest, [p.name, value]], expect: 'refused' })
    }
  }

  // Bodies: framing, then every broken rule.
  if (bodySchema) {
    const validBody = valid(bodySchema, true) as Record<string, unknown>
    const text = JSON.stringify(validBody)
    const firstKey = Object.keys(validBody)[0]
    inputs.push({ ...base, label: 'malformed JSON', body: { raw: '{"a":', type: 'application/json' }, expect: 'refused' })
    inputs.push({ ...base, label: 'JSON sent as text/plain', body: { raw: text, type: 'text/plain' }, expect: 'refused' })
    inputs.push({ ...base, label: 'an array instead of an object', body: json([validBody]), expect: 'refused' })
    if (firstKey) {
      const duplicated = `{${JSON.stringify(firstKey)}:${JSON.stringify(validBody[firstKey])},${text.slice(1)}`
      inputs.push({ ...base, label: `duplicate key ${firstKey}`, body: { raw: duplicated, type: 'application/json' }, expect: 'refused' })
    }
    for (const [why, value] of invalidBodies(bodySchema, validBody)) {
      inputs.push({ ...base, label: `body ${why}`, body: json(value), expect: 'refused' })
    }
  }
  return inputs
}

// ---------------------------------------------------------------- the walk

beforeAll(async () => {
  doc = (await call('GET', '/openapi.json')).body
  ctx.ops = await operator()
  ctx.tenant = await tenantWithAdmin('enterprise')
  ctx.other = await tenantWithAdmin('standard')
  const everything = await call('PATCH', `/api/v1/users/${ctx.tenant.adminId}`, {
    token: ctx.tenant.adminToken,
    body: { permissions: EVERY_PERMISSION },
  })
  expect(everything.status).toBe(200)
  ctx.member = await userOf(ctx.tenant, 'member', EVERY_PERMISSION)
  ctx.target = await userOf(ctx.tenant, 'member')
  const record = await call('POST', '/api/v1/records', { token: ctx.tenant.adminToken, body: { collection: 'contract', data: { n: 1 } } })
  ctx.recordId = record.body.id
  const file = await call('PUT', '/api/v1/files/contract.txt', { token: ctx.tenant.adminToken, raw: 'bytes', headers: { 'Content-Type': 'text/plain' } })
  ctx.fileId = file.body.id
  // A second session of the member, for the operation that ends one.
  const second = await signIn(ctx.tenant.slug, ctx.member.email, ctx.member.password)
  const sessions = await call('GET', '/api/v1/sessions', { token: second })
  ctx.sessionId = sessions.body.items.find((s: { current: boolean }) => s.current).id
})

describe('the OpenAPI document', () => {
  it('is a valid set of operations: one template per path, ECMA-262 patterns, access on every operation', () => {
    const templates = Object.keys(doc.paths).map((p) => p.replace(/\{[^}]+\}/g, '{}'))
    expect(templates.filter((t, i) => templates.indexOf(t) !== i)).toEqual([])
    const patterns: string[] = []
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk)
      else if (node && typeof node === 'object') {
        for (const [k, v] of Object.entries(node)) {
          if (k === 'pattern' && typeof v === 'string') patterns.push(v)
          else walk(v)
        }
      }
    }
    walk(doc)
    expect(patterns.length).toBeGreaterThan(5)
    for (const p of patterns) {
      expect(p, 'a pattern keeps a JavaScript flag').not.toMatch(/\/[dgimsuvy]+$/)
      expect(() => patternOf(p)).not.toThrow()
    }
    for (const { method, path, access } of operations()) expect(access, `${method} ${path}`).toBeDefined()
  })

  it('describes PUT, GET and DELETE of a file under one template with one parameter', () => {
    const files = doc.paths['/api/v1/files/{file}']
    expect(Object.keys(files).sort()).toEqual(['delete', 'get', 'put'])
    for (const method of ['put', 'get', 'delete']) expect(parameters(files[method], 'path').map((p) => p.name)).toEqual(['file'])
    expect(doc.paths['/api/v1/files/{id}']).toBeUndefined()
    expect(doc.paths['/api/v1/files/{name}']).toBeUndefined()
  })

  it('states the request rules the server enforces', () => {
    const s = doc.components.schemas
    expect(s.UserPatch.minProperties).toBe(1)
    expect(s.TenantPatch.minProperties).toBe(1)
    expect(s.UserCreate.properties.permissions.uniqueItems).toBe(true)
    expect(s.BindCertificates.properties.fingerprints.items.pattern).toBeDefined()
    expect(s.UserCreate.properties.email.format).toBeUndefined()
    expect(patternOf(s.UserCreate.properties.email.pattern).test('"quoted local"@example.com')).toBe(false)
    const cursor = parameters(doc.paths['/api/v1/records'].get, 'query').find((p) => p.name === 'cursor')!
    expect(cursor.schema.minLength).toBe(1)
  })

  it('tells the truth about every operation, for valid and invalid inputs', { timeout: 120_000 }, async () => {
    const failures: string[] = []
    let sent = 0
    for (const operation of operations()) {
      for (const input of inputsFor(operation)) {
        const answer = await send(operation, input)
        sent += 1
        failures.push(...judge(operation, input, answer))
        const unmet = intentMet(input, answer)
        if (unmet) failures.push(`${operation.method.toUpperCase()} ${operation.path} [${input.label}]: ${unmet}`)
      }
    }
    expect(failures).toEqual([])
    expect(sent).toBeGreaterThan(300)
  })
})
