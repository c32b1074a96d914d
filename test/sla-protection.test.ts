import { beforeAll, describe, expect, it } from 'vitest'
import { LIMITS } from '../src/services/abuse/limits'
import { DETECTORS } from '../src/services/alerts/detectors'
import { call, operator, tenantWithAdmin, userOf, type TestTenant } from './helpers'
import { freshIp, tenantLogin } from './throttle-helpers'

/**
 * The SLA rows of the abuse defence (SE-28, SE-30, SE-31/45/46, SE-32) and of
 * monitoring (RE-3): the thresholds in force and what they did this month,
 * from fixtures made through the HTTP API.
 */

type Report = { rows: Array<Record<string, any>> }
const rowOf = (body: Report, id: string) => body.rows.find((r) => r.id === id)!

async function tenantReport(t: TestTenant): Promise<Report> {
  const reply = await call('GET', '/api/v1/sla', { token: t.adminToken })
  expect(reply.status, JSON.stringify(reply.body)).toBe(200)
  return reply.body
}

let t: TestTenant
let ops: string

beforeAll(async () => {
  ops = await operator()
  t = await tenantWithAdmin()
})

describe('SE-30: failure throttling and lock-out', () => {
  it('shows the thresholds in force and counts this month\u2019s failures and the throttle that engaged', async () => {
    const user = await userOf(t)
    const ip = freshIp()
    for (let i = 0; i < LIMITS.pair.limit; i++) expect((await tenantLogin(t.slug, user.email, 'certainly-wrong', ip)).status).toBe(401)
    const row = rowOf(await tenantReport(t), 'SE-30')
    expect(row.status).toBe('met')
    expect(row.value.throttles).toEqual({
      account_from_network: { failures_in_a_row: 10, first_wait_seconds: 60, longest_wait_seconds: 3600 },
      account_lock_after_failures_in_a_row: 100,
      network_failures_per_day: 100,
      second_factor_lock_after_wrong_codes: 10,
    })
    expect(row.evidence).toMatchObject({ failed_sign_ins: 10, throttles_engaged_this_month: 1, accounts_locked_this_month: 0 })
    expect(row.summary.en).toContain('a throttle engaged 1 time')
    expect(row.note).toBeNull()
  })
})

describe('SE-28 and SE-32: intrusion alerts', () => {
  it('counts the alerts raised this month by kind, and names the detectors in force', async () => {
    const other = await tenantWithAdmin()
    const before = rowOf(await tenantReport(other), 'SE-28')
    expect(before).toMatchObject({ status: 'met', value: { alerts_this_month: { new_network_sign_in: 0, source_refusal_burst: 0, download_burst: 0, permission_failures: 0, other: 0 }, detectors: DETECTORS } })
    // A sign-in from a second network the account never used is a sign-in from a new network (SE-28).
    for (const ip of ['192.0.2.10', '198.51.100.20']) {
      const login = await tenantLogin(other.slug, other.adminEmail, other.adminPassword, ip)
      expect(login.body.status, JSON.stringify(login.body)).toBe('ok')
    }
    const report = await tenantReport(other)
    expect(rowOf(report, 'SE-28').value.alerts_this_month.new_network_sign_in).toBe(1)
    expect(rowOf(report, 'SE-32')).toMatchObject({ status: 'met', value: { anomaly_alerts_this_month: 1 } })
    // Another tenant's alerts are not this tenant's.
    expect(rowOf(await tenantReport(t), 'SE-28').value.alerts_this_month.new_network_sign_in).toBe(0)
  })
})

describe('SE-31/45/46: limits at every layer', () => {
  it('shows the tenant\u2019s limits in force, contract overrides included', async () => {
    const other = await tenantWithAdmin()
    const patched = await call('PATCH', `/ops/v1/tenants/${other.id}`, { token: ops, body: { limits: { requests_per_minute: 321 } } })
    expect(patched.status, JSON.stringify(patched.body)).toBe(200)
    const row = rowOf(await tenantReport(other), 'SE-31/45/46')
    expect(row.status).toBe('met')
    expect(row.value).toMatchObject({
      per_address: { limit: 300, period_seconds: 60 },
      per_session_share_of_tenant_minute: 0.5,
      unknown_tokens_per_network_per_hour: 100,
      request_body_limit_bytes: 1024 * 1024,
      tenant_limits_in_force: { requests_per_minute: { limit: 321, source: 'contract' } },
    })
    expect(row.summary.en).toContain("this tenant's 321 a minute")
  })

  it('shows every plan in the platform view', async () => {
    const reply = await call('GET', '/ops/v1/sla', { token: ops })
    expect(reply.status).toBe(200)
    const row = rowOf(reply.body, 'SE-31/45/46')
    expect(row.value.plans.map((p: { plan: string }) => p.plan).sort()).toEqual(['enterprise', 'free', 'standard'])
  })
})

describe('RE-3: monitoring and the alert channel', () => {
  it('is met when the operators\u2019 webhook is configured, and says it is the channel', async () => {
    const row = rowOf(await tenantReport(t), 'RE-3')
    expect(row).toMatchObject({ status: 'met', value: { alert_webhook_configured: true } })
    expect(row.note.en).toContain('signed webhook')
  })
})
