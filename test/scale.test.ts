import { SELF, createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { newId } from '../src/lib/ids'
import { PERMISSIONS, type Permission } from '../src/schemas/permissions'
import { audit } from '../src/services/audit/audit'
import worker from '../src/index'
import { REMINDERS_PER_RUN } from '../src/services/passwords/password-reminders'
import { hashPassword } from '../src/services/passwords/passwords'
import { ORIGIN, call, operator, parseCsv, signIn, tenantWithAdmin, uniqueSlug, type TestTenant } from './helpers'

/**
 * The identity core at realistic size. D1 binds at most 100 parameters per
 * statement, so any query that binds one per account or per tenant works in
 * small tests and answers 500 in production. These fixtures are as large as
 * the product allows (the enterprise plan's 1,000 seats; an operator page of
 * 200 events across 150 tenants) and are written straight into D1, in
 * statements that respect that limit themselves, with one precomputed hash.
 */

const DAY_MS = 86_400_000
const D1_MAX_PARAMETERS = 100

/** Multi-row INSERTs of at most 100 bound parameters each, committed in batches. */
async function insertRows(table: string, rows: Record<string, unknown>[]) {
  const columns = Object.keys(rows[0]!)
  const perStatement = Math.floor(D1_MAX_PARAMETERS / columns.length)
  const statements: D1PreparedStatement[] = []
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement)
    const values = chunk.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ')
    statements.push(env.DB.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${values}`).bind(...chunk.flatMap((r) => columns.map((c) => r[c]))))
  }
  for (let i = 0; i < statements.length; i += 50) await env.DB.batch(statements.slice(i, i + 50))
}

const MEMBER: Permission[] = ['files:read', 'files:write', 'records:read', 'records:write']
const ADMIN: Permission[] = ['audit:read', 'files:read', 'files:write', 'records:read', 'records:write']

/** Account number i (1–999) of the fixture: every value derived from i, so any row can be predicted exactly. */
function fixtureAccount(tenant: TestTenant, i: number, base: number, passwordHash: string) {
  const role = i % 50 === 0 ? 'admin' : 'member'
  return {
    id: newId('usr', base + i),
    tenant_id: tenant.id,
    email: `user-${i}@${tenant.slug}.example`,
    // Some names need CSV quoting: a comma, a quote, a formula prefix, Japanese.
    name: i % 100 === 7 ? `山田, 太郎 ${i}` : i % 100 === 8 ? `=Taro "${i}"` : `Account ${i}`,
    role,
    status: i % 97 === 0 ? 'disabled' : 'active',
    permissions: JSON.stringify(role === 'admin' ? ADMIN : MEMBER),
    password_hash: passwordHash,
    password_changed_at: new Date(base - (i % 30) * DAY_MS - 60_000).toISOString(),
    must_change_password: 0,
    verify_email_at_sign_in: 0,
    created_at: new Date(base + i).toISOString(),
    created_by: `user:${tenant.adminId}`,
    updated_at: new Date(base + i).toISOString(),
    last_login_at: i % 2 === 0 ? new Date(base + i).toISOString() : null,
  }
}

/** The active second factors of account i: e-mail on every 4th, TOTP on every 10th (a pending TOTP on every 5th never shows). */
function factorsOf(i: number) {
  return [...(i % 4 === 0 ? ['email'] : []), ...(i % 10 === 0 ? ['totp'] : [])]
}

describe('the account ledger of a tenant with 1,000 accounts (the enterprise plan’s seats)', () => {
  let tenant: TestTenant
  const PASSWORD = 'Quiet-River-Scale-Lantern-2026'
  let accounts: ReturnType<typeof fixtureAccount>[]

  beforeAll(async () => {
    tenant = await tenantWithAdmin('enterprise')
    const passwordHash = await hashPassword(PASSWORD)
    const base = Date.now() + 1_000
    accounts = Array.from({ length: 999 }, (_, k) => fixtureAccount(tenant, k + 1, base, passwordHash))
    await insertRows('users', accounts)
    const factors = accounts.flatMap((a, k) => {
      const i = k + 1
      const at = a.created_at
      const row = (kind: string, status: string) => ({
        id: newId('mf'),
        tenant_id: tenant.id,
        account_id: a.id,
        kind,
        status,
        secret: kind === 'totp' ? 'sealed-secret' : null,
        created_at: at,
        confirmed_at: status === 'active' ? at : null,
      })
      return [
        ...factorsOf(i).map((kind) => row(kind, 'active')),
        ...(i % 5 === 0 && i % 10 !== 0 ? [row('totp', 'pending')] : []),
      ]
    })
    await insertRows('mfa_factors', factors)
    const seats = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE tenant_id = ?").bind(tenant.id).first<{ n: number }>()
    expect(seats!.n).toBe(1000)
  }, 60_000)

  /** The ledger entry the API must show for fixture account i. */
  function expectedItem(i: number) {
    const a = accounts[i - 1]!
    const permissions = JSON.parse(a.permissions) as Permission[]
    return {
      id: a.id,
      name: a.name,
      email: a.email,
      role: a.role,
      status: a.status,
      permissions,
      permissions_explained: permissions.map((p) => ({ permission: p, allows: PERMISSIONS[p] })),
      mfa: factorsOf(i),
      password_age_days: i % 30,
      password_changed_at: a.password_changed_at,
      last_login_at: a.last_login_at,
      created_by: `user:${tenant.adminId}`,
      created_at: a.created_at,
    }
  }

  it('the fixture accounts are real accounts: one without a second factor signs in with the shared password', async () => {
    expect(factorsOf(501)).toEqual([])
    expect(await signIn(tenant.slug, accounts[500]!.email, PASSWORD)).toMatch(/^\S+$/)
  })

  it('answers the JSON ledger with all 1,000 accounts, each with its own second factors', async () => {
    const reply = await call('GET', '/api/v1/ledger', { token: tenant.adminToken })
    expect(reply.status).toBe(200)
    expect(reply.body.next_cursor).toBeNull()
    const items = reply.body.items as ReturnType<typeof expectedItem>[]
    expect(items).toHaveLength(1000)
    expect(items[0]).toMatchObject({ id: tenant.adminId, role: 'admin', mfa: [] })
    expect(items.slice(1).map((i) => i.id)).toEqual(accounts.map((a) => a.id))
    for (const i of [1, 7, 8, 40, 97, 100, 500, 999]) expect(items[i]).toEqual(expectedItem(i))
    expect(items.filter((i) => i.mfa.includes('email'))).toHaveLength(249)
    expect(items.filter((i) => i.mfa.includes('totp'))).toHaveLength(99)
    expect(items.filter((i) => i.status === 'disabled')).toHaveLength(10)
    const read = await env.DB.prepare("SELECT details FROM audit_events WHERE chain = ? AND action = 'ledger.read'")
      .bind(tenant.id)
      .all<{ details: string }>()
    expect(read.results.map((r) => JSON.parse(r.details))).toEqual([{ format: 'json', accounts: 1000 }])
  })

  it('exports the CSV ledger with a header and 1,000 rows', async () => {
    const res = await SELF.fetch(`${ORIGIN}/api/v1/ledger?format=csv`, { headers: { Authorization: `Bearer ${tenant.adminToken}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toBe('text/csv; charset=utf-8')
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(await res.arrayBuffer())
    expect(text.startsWith('\uFEFF')).toBe(true)
    const rows = parseCsv(text.slice(1))
    expect(rows).toHaveLength(1001)
    expect(rows[0]![0]).toBe('id')
    expect(rows[1]![0]).toBe(tenant.adminId)
    expect(rows.slice(2).map((r) => r[0])).toEqual(accounts.map((a) => a.id))
    const a7 = accounts[6]!
    expect(rows[8]).toEqual([
      a7.id,
      '山田, 太郎 7',
      a7.email,
      'member',
      'active',
      MEMBER.join(' '),
      MEMBER.map((p) => `${p}: ${PERMISSIONS[p]}`).join(' / '),
      'none',
      '7',
      'never',
      `user:${tenant.adminId}`,
      a7.created_at,
    ])
    const a8 = accounts[7]!
    expect(rows[9]!.slice(1, 2)).toEqual([`'=Taro "8"`])
    expect(rows[9]![7]).toBe('email')
    expect(rows[9]![9]).toBe(a8.last_login_at)
    const a100 = accounts[99]!
    expect(rows[101]).toEqual([
      a100.id,
      'Account 100',
      a100.email,
      'admin',
      'active',
      ADMIN.join(' '),
      ADMIN.map((p) => `${p}: ${PERMISSIONS[p]}`).join(' / '),
      'email totp',
      '10',
      a100.last_login_at,
      `user:${tenant.adminId}`,
      a100.created_at,
    ])
    expect(rows[98]![4]).toBe('disabled')
  })
})

describe('the operators’ audit page across 150 tenants', () => {
  const TENANTS = 150
  let tenantIds: string[]
  /** Tenants granting support access now (every 10th), and one whose grant has expired. */
  let granted: Set<string>

  beforeAll(async () => {
    const now = Date.now()
    const tenants = Array.from({ length: TENANTS }, (_, i) => ({
      id: newId('tn', now - TENANTS + i),
      slug: uniqueSlug('scale'),
      name: `Scale tenant ${i}`,
      plan_id: 'standard',
      status: 'active',
      contact_email: `contact-${i}@scale.example`,
      storage_used_bytes: 0,
      created_at: new Date(now).toISOString(),
      updated_at: new Date(now).toISOString(),
    }))
    await insertRows('tenants', tenants)
    tenantIds = tenants.map((t) => t.id)
    granted = new Set(tenantIds.filter((_, i) => i % 10 === 0))
    const grant = (tenantId: string, expiresAt: number) => ({
      tenant_id: tenantId,
      granted_by: 'user:usr_00000000000000000000000000',
      granted_at: new Date(now).toISOString(),
      expires_at: new Date(expiresAt).toISOString(),
    })
    await insertRows('support_grants', [
      ...[...granted].map((id) => grant(id, now + 3_600_000)),
      ...tenantIds.filter((_, i) => i % 10 === 5).map((id) => grant(id, now - 60_000)),
    ])
    // One event by a tenant's own user on each tenant's chain, through the real sequencer.
    const meta = { requestId: 'scale-fixture', ip: null, userAgent: null }
    for (let i = 0; i < TENANTS; i += 25) {
      await Promise.all(
        tenantIds.slice(i, i + 25).map((tenantId, k) =>
          audit(env, meta, {
            tenantId,
            actor: { type: 'user', id: newId('usr') },
            action: 'record.create',
            target: { type: 'record', id: newId('rec') },
            outcome: 'success',
            details: { collection: `private-${i + k}` },
          }),
        ),
      )
    }
  }, 60_000)

  it('answers a 200-event page spanning 150 tenants, withholding details where no support access is granted', async () => {
    const ops = await operator()
    const reply = await call('GET', '/ops/v1/audit?limit=200', { token: ops })
    expect(reply.status).toBe(200)
    const items = reply.body.items as { tenant_id: string | null; action: string; details: unknown }[]
    const ours = items.filter((e) => e.tenant_id !== null && tenantIds.includes(e.tenant_id))
    expect(new Set(ours.map((e) => e.tenant_id)).size).toBe(TENANTS)
    for (const event of ours) {
      const i = tenantIds.indexOf(event.tenant_id!)
      expect([event.tenant_id, event.details]).toEqual([
        event.tenant_id,
        granted.has(event.tenant_id!) ? { collection: `private-${i}` } : { withheld: 'support access not granted' },
      ])
    }
    expect(ours.filter((e) => !('withheld' in (e.details as object)))).toHaveLength(15)
  })

  it('pages through the same events with a filter, 200 at a time', async () => {
    const ops = await operator()
    const reply = await call('GET', '/ops/v1/audit?action=record.create&limit=200', { token: ops })
    expect(reply.status).toBe(200)
    expect(reply.body.items).toHaveLength(TENANTS)
    expect(reply.body.next_cursor).toBeNull()
    expect(new Set(reply.body.items.map((e: { tenant_id: string }) => e.tenant_id))).toEqual(new Set(tenantIds))
  })
})

describe('password-expiry reminders across many accounts (five-minute cron)', () => {
  async function runFiveMinuteCron() {
    const controller = createScheduledController({ cron: '*/5 * * * *', scheduledTime: Date.now() })
    const ctx = createExecutionContext()
    await worker.scheduled(controller, env, ctx)
    await waitOnExecutionContext(ctx)
  }
  const queuedFor = async (tenantId: string) =>
    (await env.DB.prepare("SELECT count(*) AS n FROM mail_outbox WHERE tenant_id = ? AND dedupe_key LIKE 'password-expiry:%'")
      .bind(tenantId)
      .first<{ n: number }>())!.n

  it(`queues at most ${REMINDERS_PER_RUN} per run, each once, and reaches everyone over the next runs`, async () => {
    const tenant = await tenantWithAdmin('enterprise')
    const passwordHash = await hashPassword('Quiet-River-Reminder-Lantern-2026')
    const base = Date.now()
    // 250 members whose passwords are 84 days old: each is due its 7-day reminder.
    const due = Array.from({ length: 250 }, (_, k) => ({
      ...fixtureAccount(tenant, k + 1, base, passwordHash),
      role: 'member',
      status: 'active',
      permissions: JSON.stringify(MEMBER),
      password_changed_at: new Date(base - 84 * DAY_MS - k * 1_000).toISOString(),
    }))
    await insertRows('users', due)
    const counts: number[] = []
    for (let run = 0; run < 4; run++) {
      await runFiveMinuteCron()
      counts.push(await queuedFor(tenant.id))
    }
    expect(counts).toEqual([100, 200, 250, 250])
    const audited = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE chain = ? AND action = 'auth.password_expiry_reminder'")
      .bind(tenant.id)
      .first<{ n: number }>()
    expect(audited!.n).toBe(250)
  }, 120_000)
})
