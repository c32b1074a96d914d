import { SELF, createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { database } from '../src/db/client'
import worker from '../src/index'
import { SEED_CHECKLIST } from '../src/services/sla/catalogue/catalogue.generated'
import { DEFAULT_STANDING_RULE, upcomingStandingWindows } from '../src/services/operations/calendar'
import { slaReport } from '../src/services/sla/report'
import { ORIGIN, call, operator, parseCsv, tenantWithAdmin, type TestTenant } from './helpers'

/**
 * The SLA report's rows for the operations features (AV-1..3, AV-5, AV-9..11,
 * PF-2, RE-1..7, SE-40, GE-4/6) and the limits in force (EX-3, EX-4), each
 * from fixtures made through the HTTP API, in the operator's view, the
 * tenant's view and the checklist. This file has its own storage, so the
 * platform-wide counts are exactly what it creates.
 */

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const iso = (ms: number) => new Date(ms).toISOString()
/** Days of notice as the report gives them: one decimal, rounded down. */
const noticeDays = (from: string, to: string) => Math.floor(((Date.parse(to) - Date.parse(from)) / DAY) * 10) / 10

async function runCron() {
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: '*/5 * * * *', scheduledTime: Date.now() }), env, ctx)
  await waitOnExecutionContext(ctx)
}

/** Fans every pending notice out and delivers its mails (the outbox is the mailbox in tests). */
async function settleNotices() {
  await runCron()
  await runCron()
}

type Report = { rows: Array<Record<string, any>>; [k: string]: any }

async function tenantReport(t: TestTenant): Promise<Report> {
  const reply = await call('GET', '/api/v1/sla', { token: t.adminToken })
  expect(reply.status, JSON.stringify(reply.body)).toBe(200)
  return reply.body
}

async function platformReport(): Promise<Report> {
  const reply = await call('GET', '/ops/v1/sla', { token: ops })
  expect(reply.status, JSON.stringify(reply.body)).toBe(200)
  return reply.body
}

const rowOf = (body: Report, id: string) => body.rows.find((r) => r.id === id)!

/** The Japanese checklist's answer for a seed row. */
async function answers(token: string, path: string) {
  const res = await SELF.fetch(`${ORIGIN}${path}`, { headers: { Authorization: `Bearer ${token}` } })
  expect(res.status).toBe(200)
  const rows = parseCsv((await res.text()).replace(/^\uFEFF/, ''))
  expect(rows).toHaveLength(SEED_CHECKLIST.length + 1)
  return (single: string) => rows[1 + SEED_CHECKLIST.findIndex((s) => s.single === single)]![4]!
}

/** The JST month an instant falls in. */
const jstMonthOf = (ms: number) => new Date(ms + 9 * HOUR).toISOString().slice(0, 7)

let ops: string
let a: TestTenant
let b: TestTenant
let c: TestTenant
/** Each tenant here has a contact address and one admin: two recipients per notice. */
const RECIPIENTS = 2

beforeAll(async () => {
  ops = await operator()
  a = await tenantWithAdmin()
  b = await tenantWithAdmin()
  c = await tenantWithAdmin()
})

describe('maintenance windows (AV-1, AV-2, AV-10)', () => {
  it('shows the standing rule in force and the next standing windows before anything is scheduled', async () => {
    const mine = await tenantReport(a)
    expect(rowOf(mine, 'AV-1')).toMatchObject({
      status: 'met',
      value: { rule: DEFAULT_STANDING_RULE, next_standing_windows: upcomingStandingWindows(DEFAULT_STANDING_RULE, Date.now()), next_scheduled_windows: [] },
      evidence: { rule_saved_at: null, rule_is_stated_rule: true, longest_window_minutes: 0 },
      note: null,
    })
    expect(rowOf(mine, 'AV-1').summary.en).toMatch(/^The standing maintenance window is the 4th Sunday of every month from 00:00 JST for up to 300 minutes \(next: /)
    const empty = { this_month: 0, emergencies_this_month: 0, emergencies_with_reason: 0, scheduled_ahead: 0, shortest_planned_notice_days: null }
    expect(rowOf(mine, 'AV-10')).toMatchObject({ status: 'met', value: { lead_days_required: 7, ...empty } })
    expect(rowOf(mine, 'AV-2')).toMatchObject({ status: 'met', value: { lead_days_required: 30, ...empty } })
    expect(rowOf(await platformReport(), 'AV-10')).toMatchObject({ status: 'met', value: { lead_days_required: 7, ...empty } })
  })

  it('shows each window with the notice it got and its mails; an emergency with its reason only to its tenant', async () => {
    const now = Date.now()
    const maint = await call('POST', '/ops/v1/maintenance-windows', {
      token: ops,
      body: { kind: 'maintenance', starts_at: iso(now + 7 * DAY + HOUR), duration_minutes: 120 },
    })
    expect(maint.status, JSON.stringify(maint.body)).toBe(201)
    const outage = await call('POST', '/ops/v1/maintenance-windows', { token: ops, body: { kind: 'outage', starts_at: iso(now + 30 * DAY + HOUR), duration_minutes: 60 } })
    expect(outage.status).toBe(201)
    // Soon, but not yet in force (so no tenant is in maintenance while the test runs), and in this month.
    const jst = new Date(now + 9 * HOUR)
    const nextMonth = Date.UTC(jst.getUTCFullYear(), jst.getUTCMonth() + 1, 1) - 9 * HOUR
    const soon = Math.min(now + HOUR, nextMonth - 15 * MIN)
    const emergency = await call('POST', '/ops/v1/maintenance-windows', {
      token: ops,
      body: { kind: 'maintenance', starts_at: iso(soon), duration_minutes: 30, emergency: true, reason: 'Security patch for b', tenant_ids: [b.id] },
    })
    expect(emergency.status, JSON.stringify(emergency.body)).toBe(201)
    await settleNotices()
    const m = maint.body
    const e = emergency.body
    const inMonth = (w: { starts_at: string }) => (jstMonthOf(Date.parse(w.starts_at)) === jstMonthOf(Date.now()) ? 1 : 0)
    const maintInMonth = inMonth(m)
    const brief = (w: any) => ({ id: w.id, kind: w.kind, starts_at: w.starts_at, ends_at: w.ends_at, emergency: w.emergency, notice_days: noticeDays(w.created_at, w.starts_at) })
    expect(noticeDays(m.created_at, m.starts_at)).toBe(7)

    // Tenant a: the platform-wide windows only, with a's own mails.
    const mine = await tenantReport(a)
    expect(rowOf(mine, 'AV-10')).toMatchObject({
      status: 'met',
      value: { lead_days_required: 7, this_month: maintInMonth, emergencies_this_month: 0, emergencies_with_reason: 0, scheduled_ahead: 1, shortest_planned_notice_days: 7 },
      evidence: { scheduled_ahead: [{ ...brief(m), reason: null, notice: { status: 'done', mails: RECIPIENTS } }], notice_mails: RECIPIENTS, planned_with_short_notice: [] },
    })
    expect(rowOf(mine, 'AV-2')).toMatchObject({
      status: 'met',
      value: { lead_days_required: 30, this_month: inMonth(outage.body), emergencies_this_month: 0, scheduled_ahead: 1, shortest_planned_notice_days: 30 },
      evidence: { scheduled_ahead: [{ ...brief(outage.body), notice: { status: 'done', mails: RECIPIENTS } }], notice_mails: RECIPIENTS },
    })
    expect(rowOf(mine, 'AV-1').value.next_scheduled_windows).toEqual([m, outage.body].map((w) => ({ id: w.id, kind: w.kind, starts_at: w.starts_at, ends_at: w.ends_at })))
    expect(JSON.stringify(mine)).not.toContain(e.id)
    expect(JSON.stringify(mine)).not.toContain('Security patch')

    // Tenant b: also its own emergency, with its reason.
    const theirs = await tenantReport(b)
    expect(rowOf(theirs, 'AV-10')).toMatchObject({
      status: 'met',
      value: { this_month: 1 + maintInMonth, emergencies_this_month: 1, emergencies_with_reason: 1, scheduled_ahead: 2, shortest_planned_notice_days: 7 },
      evidence: { windows_this_month: expect.arrayContaining([{ ...brief(e), reason: 'Security patch for b', notice: { status: 'done', mails: RECIPIENTS } }]), notice_mails: 2 * RECIPIENTS },
    })
    expect(rowOf(theirs, 'AV-10').summary.en).toContain('(1 emergency, 1 with a reason) and 2 scheduled ahead; the shortest notice of a planned one was 7 days')
    expect(rowOf(theirs, 'AV-1').value.next_scheduled_windows.map((w: { id: string }) => w.id)).toEqual([e.id, m.id, outage.body.id])

    // The platform: every window, every tenant's mails.
    const all = await platformReport()
    expect(rowOf(all, 'AV-10')).toMatchObject({
      status: 'met',
      value: { this_month: 1 + maintInMonth, emergencies_this_month: 1, emergencies_with_reason: 1, scheduled_ahead: 2 },
      evidence: { notice_mails: 3 * RECIPIENTS + RECIPIENTS },
    })
    expect(rowOf(all, 'AV-2')).toMatchObject({ value: { scheduled_ahead: 1, shortest_planned_notice_days: 30 }, evidence: { notice_mails: 3 * RECIPIENTS } })
    expect(rowOf(all, 'AV-1')).toMatchObject({ status: 'met', evidence: { longest_window_minutes: 120 } })

    // The checklist carries the live values in the answer column.
    const answer = await answers(b.adminToken, '/api/v1/sla/checklist?format=csv')
    expect(answer('AV-10')).toMatch(/^基本1週間前までに事前通知。\(緊急の場合を除く\)（現在: メンテナンスは7日前までの登録が必要/)
    expect(answer('AV-10')).toContain('緊急 1件、うち理由あり 1件')
    expect(answer('AV-2')).toContain('計画分の最短事前通知 30日')
    expect(answer('AV-1')).toContain('毎月第4日曜日 00:00 JST から最大300分')
  })

  it('says not_met for AV-1 while the standing rule differs from the stated answer', async () => {
    const put = await call('PUT', '/ops/v1/maintenance-windows/standing-rule', { token: ops, body: { week_of_month: 2, weekday: 6, start_time_jst: '22:00', duration_minutes: 240 } })
    expect(put.status).toBe(200)
    const row = rowOf(await tenantReport(a), 'AV-1')
    expect(row).toMatchObject({ status: 'not_met', value: { rule: { week_of_month: 2, weekday: 6, start_time_jst: '22:00', duration_minutes: 240 } }, evidence: { rule_is_stated_rule: false } })
    expect(row.summary.en).toMatch(/^The standing maintenance window is the 2nd Saturday of every month from 22:00 JST for up to 240 minutes/)
    expect(row.note.en).toMatch(/^The rule in force differs from the stated answer/)
    expect((await call('PUT', '/ops/v1/maintenance-windows/standing-rule', { token: ops, body: DEFAULT_STANDING_RULE })).status).toBe(200)
    expect(rowOf(await tenantReport(a), 'AV-1')).toMatchObject({ status: 'met', evidence: { rule_is_stated_rule: true, rule_saved_at: expect.any(String) } })
  })
})

describe('announcements (AV-3, AV-9)', () => {
  it('shows end of service with the notice it gave, and upgrades with the running version', async () => {
    const eos = await call('POST', '/ops/v1/announcements', {
      token: ops,
      body: { kind: 'end_of_service', effective_at: iso(Date.now() + 200 * DAY + HOUR), subject: 'Mamori v1 ends', body: 'Move to v2.' },
    })
    expect(eos.status, JSON.stringify(eos.body)).toBe(201)
    const upgrade = await call('POST', '/ops/v1/announcements', { token: ops, body: { kind: 'upgrade', effective_at: iso(Date.now() + DAY), subject: 'Version 0.2', body: 'Faster.' } })
    expect(upgrade.status).toBe(201)
    await settleNotices()
    const fact = (x: any) => ({ id: x.id, kind: x.kind, subject: x.subject, effective_at: x.effective_at, announced_at: x.created_at, notice_days: noticeDays(x.created_at, x.effective_at) })
    expect(noticeDays(eos.body.created_at, eos.body.effective_at)).toBe(200)

    const mine = await tenantReport(a)
    expect(rowOf(mine, 'AV-3')).toMatchObject({
      status: 'met',
      value: { lead_days_required: 183, announcements: 1, shortest_notice_days: 200 },
      evidence: { announcements: [{ ...fact(eos.body), notice: { status: 'done', mails: RECIPIENTS } }], notice_mails: RECIPIENTS },
    })
    expect(rowOf(mine, 'AV-9')).toMatchObject({
      status: 'met',
      value: { running_version: env.APP_VERSION, upgrades_announced: 1 },
      evidence: { status_page: '/status', upgrades: [{ ...fact(upgrade.body), notice: { status: 'done', mails: RECIPIENTS } }] },
      note: null,
    })
    const all = await platformReport()
    expect(rowOf(all, 'AV-3')).toMatchObject({ status: 'met', value: { announcements: 1, shortest_notice_days: 200 }, evidence: { notice_mails: 3 * RECIPIENTS } })
    expect(rowOf(all, 'AV-9')).toMatchObject({ status: 'met', evidence: { notice_mails: 3 * RECIPIENTS } })

    const answer = await answers(a.adminToken, '/api/v1/sla/checklist?format=csv')
    expect(answer('AV-3')).toMatch(/^メールにより 6ヶ月以上前に事前通知（現在: サービス終了は183日前までの告知が必要（それ以内は拒否）。告知済み 1件: .*（200日前に告知）。このテナントの窓口・管理者への通知メール 2通/)
  })
})

describe('per-tenant limits in force (AV-11, PF-2, EX-3, EX-4)', () => {
  it('shows the contract’s limits for a tenant with overrides and the plan’s for the others', async () => {
    const plan = (await env.DB.prepare("SELECT * FROM plans WHERE id = 'standard'").first<Record<string, number>>())!
    const before = await tenantReport(c)
    expect(rowOf(before, 'EX-3').value).toMatchObject({ seats: plan.seats })
    const patched = await call('PATCH', `/ops/v1/tenants/${c.id}`, { token: ops, body: { limits: { requests_per_minute: 120, seats: 3, storage_bytes: 1_048_576 } } })
    expect(patched.status, JSON.stringify(patched.body)).toBe(200)

    const mine = await tenantReport(c)
    const perMinute = { limit: 120, source: 'contract' }
    expect(rowOf(mine, 'AV-11')).toMatchObject({
      status: 'met',
      value: { requests_per_minute: perMinute, requests_per_month: { limit: plan.requests_per_month, source: 'plan' }, session_share_of_minute: 0.5, platform_requests_per_minute: 60_000 },
      evidence: { plan: 'standard', plan_limits: { requests_per_minute: plan.requests_per_minute, requests_per_month: plan.requests_per_month } },
    })
    expect(rowOf(mine, 'AV-11').summary.ja).toContain('毎分 120（契約）')
    expect(rowOf(mine, 'PF-2')).toMatchObject({
      status: 'met',
      value: {
        per_address: { limit: 300, period_seconds: 60 },
        tenant_window_seconds: 60,
        requests_per_minute: perMinute,
        sign_in: { account_from_network: { failures_in_a_row: 10, first_wait_seconds: 60, longest_wait_seconds: 3600 }, network: { failures: 100, window_hours: 24 }, account_lock_after_failures_in_a_row: 100 },
      },
    })
    expect(rowOf(mine, 'EX-3')).toMatchObject({
      status: 'met',
      value: { seats: 3, seats_used: 1, concurrent_sessions: plan.concurrent_sessions, sessions_live: 1 },
      evidence: { seats: { limit: 3, source: 'contract' }, concurrent_sessions: { limit: plan.concurrent_sessions, source: 'plan' }, plan_limits: { seats: plan.seats } },
    })
    expect(rowOf(mine, 'EX-3').summary.en).toMatch(/^This tenant's contract \(on the Standard plan\) allows 3 active accounts \(1 in use\)/)
    expect(rowOf(mine, 'EX-4')).toMatchObject({ status: 'met', value: { storage_bytes: 1_048_576, storage_used_bytes: 0 }, evidence: { storage_bytes: { limit: 1_048_576, source: 'contract' } } })

    // Another tenant keeps its plan's limits, and sees nothing of c's contract.
    const other = await tenantReport(a)
    expect(rowOf(other, 'AV-11').value.requests_per_minute).toEqual({ limit: plan.requests_per_minute, source: 'plan' })
    expect(rowOf(other, 'EX-3').value.seats).toBe(plan.seats)

    const all = await platformReport()
    expect(rowOf(all, 'AV-11')).toMatchObject({ status: 'met', value: { tenants_with_contract_per_minute: 1, tenants_with_contract_per_month: 0 }, evidence: { tenants_with_any_contract_limit: 1 } })
    expect(rowOf(all, 'AV-11').value.plans).toContainEqual({ plan: 'standard', requests_per_minute: plan.requests_per_minute, requests_per_month: plan.requests_per_month })
    expect(rowOf(all, 'PF-2')).toMatchObject({ status: 'met', value: { per_address: { limit: 300, period_seconds: 60 } }, evidence: { tenants_with_contract_per_minute: 1 } })
    expect(rowOf(all, 'EX-3').evidence).toMatchObject({ tenants_with_contract_seats: 1 })
    expect(rowOf(all, 'EX-4').evidence).toMatchObject({ tenants_with_contract_quota: 1, tenants_over_quota: 0 })

    const answer = await answers(c.adminToken, '/api/v1/sla/checklist?format=csv')
    expect(answer('PF-2')).toMatch(/^1分（現在: 負荷は毎分単位の制限で遮断: 1アドレスあたり 60秒 300リクエスト、このテナントの毎分 120リクエスト/)
  })

  it('counts a tenant over its contract’s seats as not_met (EX-3)', async () => {
    expect((await call('PATCH', `/ops/v1/tenants/${c.id}`, { token: ops, body: { limits: { seats: 0 } } })).status).toBe(200)
    expect(rowOf(await tenantReport(c), 'EX-3')).toMatchObject({ status: 'not_met', value: { seats: 0, seats_used: 1 } })
    expect(rowOf(await platformReport(), 'EX-3')).toMatchObject({ status: 'not_met', evidence: { tenants_over_seat_limit: 1 } })
    expect((await call('PATCH', `/ops/v1/tenants/${c.id}`, { token: ops, body: { limits: { seats: 3 } } })).status).toBe(200)
  })
})

describe('incidents (AV-5, RE-1, RE-2, RE-4/5/6, RE-7, SE-40, GE-4/6)', () => {
  let onlyB: any
  let everyone: any

  beforeAll(async () => {
    const opened = await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'Slow uploads for b', description: 'Uploads time out.', severity: 'major', tenant_ids: [b.id] } })
    expect(opened.status).toBe(201)
    expect((await call('PATCH', `/ops/v1/incidents/${opened.body.id}`, { token: ops, body: { update: 'Cause found.' } })).status).toBe(200)
    onlyB = (await call('PATCH', `/ops/v1/incidents/${opened.body.id}`, { token: ops, body: { status: 'resolved', update: 'Fixed.' } })).body
    const all = await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'Slow sign-in', description: 'Sign-in is slow.', severity: 'minor' } })
    everyone = (await call('PATCH', `/ops/v1/incidents/${all.body.id}`, { token: ops, body: { status: 'resolved' } })).body
    await settleNotices()
  })

  const ms = (i: any) => Date.parse(i.resolved_at) - Date.parse(i.opened_at)
  const minutes = (i: any) => ms(i) / MIN
  /** MTTR as the operations module averages it: milliseconds first, minutes last. */
  const mttr = (...list: any[]) => list.reduce((sum, i) => sum + ms(i), 0) / list.length / MIN

  it('gives a tenant its own incidents only, each notified when opened, updated and resolved', async () => {
    // a: only the platform-wide incident (opened and resolved: 2 notices, 1 later update).
    const mine = await tenantReport(a)
    expect(rowOf(mine, 'RE-4/5/6')).toMatchObject({ status: 'met', value: { incidents: 1, notified_at_opening: 1, mails_queued: 2 * RECIPIENTS, mails_sent: 2 * RECIPIENTS } })
    expect(rowOf(mine, 'RE-7')).toMatchObject({ status: 'met', value: { updates: 1, update_notices: 1, status_page: '/status' } })
    expect(rowOf(mine, 'SE-40')).toMatchObject({ status: 'met', value: { incidents: 1, this_month: 1, open_now: 0 }, evidence: { incident_ids_this_month: [everyone.id] } })
    expect(rowOf(mine, 'GE-4/6')).toMatchObject({ status: 'met', value: { notices: 2, mails_queued: 2 * RECIPIENTS, mails_sent: 2 * RECIPIENTS } })
    expect(rowOf(mine, 'RE-1')).toMatchObject({ status: 'met', value: minutes(everyone) })
    expect(rowOf(mine, 'RE-2')).toMatchObject({ status: 'met', value: { incidents: 1, incidents_over_a_day: 0 } })
    // A minor incident is degradation, not downtime.
    expect(rowOf(mine, 'AV-5').evidence).toMatchObject({ downtime_minutes: 0, incidents: 1 })
    const text = JSON.stringify(mine)
    expect(text).not.toContain(onlyB.id)
    expect(text).not.toContain(b.id)

    // b: both incidents (3 + 2 notices, 2 + 1 later updates), b's mails only.
    const theirs = await tenantReport(b)
    expect(rowOf(theirs, 'RE-4/5/6')).toMatchObject({ status: 'met', value: { incidents: 2, notified_at_opening: 2, mails_queued: 5 * RECIPIENTS, mails_sent: 5 * RECIPIENTS } })
    expect(rowOf(theirs, 'RE-4/5/6').summary.en).toContain('2 incidents affecting this tenant in')
    expect(rowOf(theirs, 'RE-7')).toMatchObject({ status: 'met', value: { updates: 3, update_notices: 3 } })
    expect(rowOf(theirs, 'SE-40')).toMatchObject({ value: { incidents: 2, this_month: 2, open_now: 0 }, evidence: { incident_ids_this_month: [onlyB.id, everyone.id].sort() } })
    expect(rowOf(theirs, 'RE-1').value).toBe(mttr(onlyB, everyone))
    expect(rowOf(theirs, 'RE-2').value).toEqual({ incidents: 2, incidents_over_a_day: 0 })
    expect(rowOf(theirs, 'AV-5').evidence.downtime_minutes).toBe(minutes(onlyB))

    const answer = await answers(b.adminToken, '/api/v1/sla/checklist?format=csv')
    expect(answer('RE-4')).toContain('の障害 2件（このテナントに影響）、登録時に通知 2件。このテナントの窓口・管理者宛メール 10通（配信済み 10通）')
    expect(answer('RE-7')).toMatch(/^メールにて逐次報告（現在: 障害の続報と復旧は影響テナントへメールで通知し、\/status に表示。.* の障害（このテナントに影響）の続報 3件、その通知 3件/)
  })

  it('counts every incident and every tenant’s mails for the platform', async () => {
    const all = await platformReport()
    // b's incident mailed b (3 notices); the platform-wide one mailed all three tenants (2 notices).
    expect(rowOf(all, 'RE-4/5/6')).toMatchObject({ status: 'met', value: { incidents: 2, notified_at_opening: 2, mails_queued: 3 * RECIPIENTS + 2 * 3 * RECIPIENTS, mails_sent: 9 * RECIPIENTS } })
    expect(rowOf(all, 'RE-7').value).toMatchObject({ updates: 3, update_notices: 3 })
    expect(rowOf(all, 'SE-40').value).toEqual({ incidents: 2, this_month: 2, open_now: 0 })
    expect(rowOf(all, 'GE-4/6').value).toEqual({ notices: 5, mails_queued: 9 * RECIPIENTS, mails_sent: 9 * RECIPIENTS })
    expect(rowOf(all, 'RE-1').value).toBe(mttr(onlyB, everyone))
  })

  it('shows an open incident as open until it is resolved', async () => {
    const open = await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'Still looking', description: 'Hm.', severity: 'minor', tenant_ids: [c.id] } })
    expect(open.status).toBe(201)
    await settleNotices()
    expect(rowOf(await tenantReport(c), 'SE-40').value).toEqual({ incidents: 2, this_month: 2, open_now: 1 })
    expect(rowOf(await tenantReport(a), 'SE-40').value).toEqual({ incidents: 1, this_month: 1, open_now: 0 })
    expect((await call('PATCH', `/ops/v1/incidents/${open.body.id}`, { token: ops, body: { status: 'resolved' } })).status).toBe(200)
    expect(rowOf(await tenantReport(c), 'SE-40').value).toEqual({ incidents: 2, this_month: 2, open_now: 0 })
  })

  it('costs the same number of queries with windows, announcements and incidents as without (no query per row or per tenant)', async () => {
    let queries = 0
    const DB = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === 'prepare') {
          return (query: string) => {
            queries++
            return target.prepare(query)
          }
        }
        const value = Reflect.get(target, prop)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const probe = { ...env, DB }
    const cost = async (tenantId: string | null) => {
      queries = 0
      await slaReport(probe, database(probe), tenantId)
      return queries
    }
    const platform = await cost(null)
    const tenant = await cost(b.id)
    expect(platform).toBeLessThanOrEqual(20)
    expect(tenant).toBeLessThanOrEqual(20)
    await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'One more', description: 'x', severity: 'minor' } })
    await tenantWithAdmin()
    await settleNotices()
    expect(await cost(null)).toBe(platform)
    expect(await cost(b.id)).toBe(tenant)
  })
})
