import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { database } from '../src/db/client'
import worker from '../src/index'
import { newId } from '../src/lib/ids'
import { DEFAULT_STANDING_RULE, upcomingStandingWindows, type StandingRule } from '../src/services/operations/calendar'
import { activeMaintenance } from '../src/services/operations/windows'
import { call, expectProblem, operator, snapshotCounts, tenantWithAdmin, userOf, type TestTenant } from './helpers'

/**
 * Operations through HTTP and the five-minute job: maintenance windows and
 * their lead times, notices by mail (each exactly once), announcements,
 * incidents and their tenant scoping, the public status. The job is run
 * with chosen slot times, so windows open and close without waiting.
 */

const MIN = 60_000
const DAY = 86_400_000
const iso = (ms: number) => new Date(ms).toISOString()

async function runCron(scheduledTime: number) {
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: '*/5 * * * *', scheduledTime }), env, ctx)
  await waitOnExecutionContext(ctx)
}

/** Addresses a notice (by its dedupe key) was queued for, sorted. */
async function noticeMails(noticeKey: string) {
  const { results } = await env.DB.prepare(
    `SELECT m.to_address AS to_address FROM mail_outbox m JOIN notice_jobs j ON m.dedupe_key LIKE 'notice:' || j.id || ':%'
     WHERE j.dedupe_key = ? ORDER BY m.to_address`,
  )
    .bind(noticeKey)
    .all<{ to_address: string }>()
  return results.map((r) => r.to_address)
}

/** A notice's job, with the subject and body of its first mail (the notice keeps parameters; each mail its own language's text). */
async function notice(noticeKey: string) {
  return env.DB.prepare(
    `SELECT j.status, j.tenants_notified,
       (SELECT m.subject FROM mail_outbox m WHERE m.dedupe_key LIKE 'notice:' || j.id || ':%' ORDER BY m.to_address LIMIT 1) AS subject,
       (SELECT m.body FROM mail_outbox m WHERE m.dedupe_key LIKE 'notice:' || j.id || ':%' ORDER BY m.to_address LIMIT 1) AS body
     FROM notice_jobs j WHERE j.dedupe_key = ?`,
  )
    .bind(noticeKey)
    .first<{ status: string; subject: string; body: string; tenants_notified: number }>()
}

async function auditEvents(action: string, targetId: string) {
  const { results } = await env.DB.prepare('SELECT chain, actor_type, actor_id, category, details FROM audit_events WHERE action = ? AND target_id = ? ORDER BY seq')
    .bind(action, targetId)
    .all<{ chain: string; actor_type: string; actor_id: string; category: string; details: string }>()
  return results.map((r) => ({ ...r, details: JSON.parse(r.details) }))
}

const contactOf = (t: TestTenant) => `contact@${t.slug}.example`

/** Who a notice to a tenant must reach: its contact and every active admin, sorted. */
async function recipientsOf(t: TestTenant) {
  const { results } = await env.DB.prepare("SELECT email FROM users WHERE tenant_id = ? AND role = 'admin' AND status = 'active'").bind(t.id).all<{ email: string }>()
  return [contactOf(t), ...results.map((r) => r.email)].sort()
}

let ops: string
let a: TestTenant
let b: TestTenant

beforeAll(async () => {
  ops = await operator()
  a = await tenantWithAdmin()
  b = await tenantWithAdmin()
})

function schedule(body: Record<string, unknown>) {
  return call('POST', '/ops/v1/maintenance-windows', { token: ops, body })
}

describe('maintenance windows: lead times and limits', () => {
  it('accepts maintenance 7 days and a minute ahead, and refuses it a minute short of 7 days (422), storing nothing', async () => {
    const before = await snapshotCounts()
    const short = await schedule({ starts_at: iso(Date.now() + 7 * DAY - MIN), duration_minutes: 60, kind: 'maintenance', tenant_ids: [a.id] })
    const problem = expectProblem(short, 422, 'lead-time-too-short')
    expect(problem.errors).toEqual([{ path: 'body.starts_at', message: expect.stringContaining("7 days' notice") }])
    expect(Date.parse(problem.earliest_allowed)).toBeGreaterThan(Date.now() + 7 * DAY - 10_000)
    expect(await snapshotCounts()).toEqual(before)

    const ok = await schedule({ starts_at: iso(Date.now() + 7 * DAY + MIN), duration_minutes: 60, kind: 'maintenance', tenant_ids: [a.id] })
    expect(ok.status).toBe(201)
    expect(ok.body).toMatchObject({ kind: 'maintenance', state: 'scheduled', duration_minutes: 60, emergency: false, tenant_ids: [a.id], revision: 1 })
    expect(Date.parse(ok.body.ends_at) - Date.parse(ok.body.starts_at)).toBe(60 * MIN)
    const [event] = await auditEvents('maintenance.window_scheduled', ok.body.id)
    expect(event).toMatchObject({ chain: 'platform', actor_type: 'operator', category: 'administration' })
    expect(event!.details).toMatchObject({ kind: 'maintenance', tenant_ids: [a.id], emergency: false, lead_time_met: true })
  })

  it('wants 30 days for a planned outage', async () => {
    expectProblem(await schedule({ starts_at: iso(Date.now() + 30 * DAY - MIN), duration_minutes: 30, kind: 'outage', tenant_ids: [a.id] }), 422, 'lead-time-too-short')
    const ok = await schedule({ starts_at: iso(Date.now() + 30 * DAY + MIN), duration_minutes: 30, kind: 'outage', tenant_ids: [a.id] })
    expect(ok.status).toBe(201)
    expect(ok.body.kind).toBe('outage')
  })

  it('waives the lead time for an emergency with a reason, audited as such, and refuses an emergency without one', async () => {
    const bare = await schedule({ starts_at: iso(Date.now() + 2 * DAY), duration_minutes: 45, kind: 'maintenance', emergency: true, tenant_ids: [a.id] })
    expect(expectProblem(bare, 422, 'validation').errors).toEqual([{ path: 'body.reason', message: 'An emergency window needs a reason.' }])
    const ok = await schedule({ starts_at: iso(Date.now() + 2 * DAY), duration_minutes: 45, kind: 'maintenance', emergency: true, reason: 'Security patch for the database driver', tenant_ids: [a.id] })
    expect(ok.status).toBe(201)
    expect(ok.body).toMatchObject({ emergency: true, reason: 'Security patch for the database driver' })
    const [event] = await auditEvents('maintenance.window_scheduled', ok.body.id)
    expect(event!.details).toMatchObject({ emergency: true, reason: 'Security patch for the database driver', lead_time_met: false })
  })

  it('never lasts longer than 5 hours, and never starts in the past', async () => {
    const far = Date.now() + 60 * DAY
    expectProblem(await schedule({ starts_at: iso(far), duration_minutes: 301, kind: 'maintenance', tenant_ids: [a.id] }), 422, 'validation')
    expectProblem(await schedule({ starts_at: iso(Date.now() - DAY), duration_minutes: 60, kind: 'maintenance', emergency: true, reason: 'late', tenant_ids: [a.id] }), 422, 'validation')
    const five = await schedule({ starts_at: iso(far), duration_minutes: 300, kind: 'maintenance', tenant_ids: [a.id] })
    expect(five.status).toBe(201)
  })

  it('refuses unknown tenants (422) and stores nothing', async () => {
    const before = await snapshotCounts()
    const reply = await schedule({ starts_at: iso(Date.now() + 61 * DAY), duration_minutes: 60, kind: 'maintenance', tenant_ids: [a.id, 'tn_00000000000000000000000000'] })
    expect(expectProblem(reply, 422, 'validation').errors[0].path).toBe('body.tenant_ids')
    expect(await snapshotCounts()).toEqual(before)
  })

  it('refuses a window that overlaps or directly continues an open one of a shared tenant (409), and allows one for other tenants', async () => {
    const start = Date.now() + 62 * DAY
    const first = await schedule({ starts_at: iso(start), duration_minutes: 120, kind: 'maintenance', tenant_ids: [a.id] })
    expect(first.status).toBe(201)
    const overlapping = await schedule({ starts_at: iso(start + 60 * MIN), duration_minutes: 60, kind: 'maintenance', tenant_ids: [b.id, a.id] })
    expect(expectProblem(overlapping, 409, 'window-overlap').conflicting_window_id).toBe(first.body.id)
    // Back to back would be four hours at a stretch: refused too.
    expectProblem(await schedule({ starts_at: iso(start + 120 * MIN), duration_minutes: 120, kind: 'maintenance', tenant_ids: [a.id] }), 409, 'window-overlap')
    // A platform-wide window shares every tenant.
    expectProblem(await schedule({ starts_at: iso(start + 30 * MIN), duration_minutes: 30, kind: 'maintenance' }), 409, 'window-overlap')
    const other = await schedule({ starts_at: iso(start + 60 * MIN), duration_minutes: 60, kind: 'maintenance', tenant_ids: [b.id] })
    expect(other.status).toBe(201)
  })

  it('answers 404 for unknown or malformed window ids', async () => {
    expectProblem(await call('DELETE', '/ops/v1/maintenance-windows/mw_00000000000000000000000000', { token: ops }), 404, 'not-found')
    expectProblem(await call('PATCH', '/ops/v1/maintenance-windows/nonsense', { token: ops, body: { message: 'x' } }), 404, 'not-found')
  })

  it('is operators only', async () => {
    expectProblem(await call('GET', '/ops/v1/maintenance-windows', { token: a.adminToken }), 401, 'unauthenticated')
    expectProblem(await call('GET', '/ops/v1/maintenance-windows'), 401, 'unauthenticated')
  })
})

describe('maintenance windows: the calendar', () => {
  it('lists scheduled windows newest first, next to the standing windows of the next three months', async () => {
    const reply = await call('GET', '/ops/v1/maintenance-windows?limit=2', { token: ops })
    expect(reply.status).toBe(200)
    expect(reply.body.items).toHaveLength(2)
    expect(reply.body.items[0].id > reply.body.items[1].id).toBe(true)
    expect(reply.body.next_cursor).toEqual(expect.any(String))
    expect(reply.body.standing_rule).toEqual(DEFAULT_STANDING_RULE)
    expect(reply.body.standing_windows).toEqual(upcomingStandingWindows(DEFAULT_STANDING_RULE, Date.now()))
    const next = await call('GET', `/ops/v1/maintenance-windows?limit=2&cursor=${reply.body.next_cursor}`, { token: ops })
    expect(next.body.items[0].id < reply.body.items[1].id).toBe(true)
    const scheduled = await call('GET', '/ops/v1/maintenance-windows?state=cancelled', { token: ops })
    expect(scheduled.body.items.every((w: { state: string }) => w.state === 'cancelled')).toBe(true)
  })

  it('changes the standing rule (audited) and generates its windows', async () => {
    const rule: StandingRule = { week_of_month: 2, weekday: 6, start_time_jst: '22:00', duration_minutes: 240 }
    const put = await call('PUT', '/ops/v1/maintenance-windows/standing-rule', { token: ops, body: rule })
    expect(put.status).toBe(200)
    expect(put.body.rule).toEqual(rule)
    expect(put.body.upcoming).toEqual(upcomingStandingWindows(rule, Date.now()))
    expect((await call('GET', '/ops/v1/maintenance-windows/standing-rule', { token: ops })).body.rule).toEqual(rule)
    expect((await call('GET', '/ops/v1/maintenance-windows?limit=1', { token: ops })).body.standing_windows).toEqual(upcomingStandingWindows(rule, Date.now()))
    const [event] = await auditEvents('maintenance.standing_rule_changed', 'standing_window')
    expect(event!.details).toEqual({ from: DEFAULT_STANDING_RULE, to: rule })
    expectProblem(await call('PUT', '/ops/v1/maintenance-windows/standing-rule', { token: ops, body: { ...rule, duration_minutes: 301 } }), 422, 'validation')
    expectProblem(await call('PUT', '/ops/v1/maintenance-windows/standing-rule', { token: ops, body: { ...rule, week_of_month: 5 } }), 422, 'validation')
    const back = await call('PUT', '/ops/v1/maintenance-windows/standing-rule', { token: ops, body: DEFAULT_STANDING_RULE })
    expect(back.body.rule).toEqual(DEFAULT_STANDING_RULE)
  })

  it('marks whether a window lies inside its month\u2019s standing window', async () => {
    const standing = upcomingStandingWindows(DEFAULT_STANDING_RULE, Date.now() + 100 * DAY, 1)[0]!
    const inside = await schedule({ starts_at: standing.starts_at, duration_minutes: 300, kind: 'maintenance', tenant_ids: [a.id] })
    expect(inside.body.within_standing_window).toBe(true)
    const outside = await schedule({ starts_at: iso(Date.parse(standing.ends_at) + DAY), duration_minutes: 60, kind: 'maintenance', tenant_ids: [a.id] })
    expect(outside.body.within_standing_window).toBe(false)
  })
})

describe('maintenance windows: changes and cancellation, each mailed', () => {
  it('mails the affected tenant\u2019s contact and admins when a window is scheduled, changed and cancelled; no other tenant', async () => {
    const extraAdmin = await userOf(a, 'admin')
    const start = Date.now() + 70 * DAY
    const created = await schedule({ starts_at: iso(start), duration_minutes: 60, kind: 'maintenance', tenant_ids: [a.id] })
    const id = created.body.id
    await runCron(Date.now())
    const recipients = [a.adminEmail, contactOf(a), extraAdmin.email].sort()
    expect(await noticeMails(`mw:${id}:scheduled`)).toEqual(recipients)
    expect((await notice(`mw:${id}:scheduled`))!.subject).toMatch(/^【Mamori】メンテナンスのお知らせ（\d{4}年\d{1,2}月\d{1,2}日\([日月火水木金土]\) \d\d:\d\d）$/)

    // Growing it inside the lead time is refused; moving it later with enough notice is a change.
    expectProblem(await call('PATCH', `/ops/v1/maintenance-windows/${id}`, { token: ops, body: { starts_at: iso(Date.now() + DAY) } }), 422, 'lead-time-too-short')
    const changed = await call('PATCH', `/ops/v1/maintenance-windows/${id}`, { token: ops, body: { starts_at: iso(start + DAY), duration_minutes: 90, message: 'Database upgrade' } })
    expect(changed.status).toBe(200)
    expect(changed.body).toMatchObject({ revision: 2, duration_minutes: 90, message: 'Database upgrade', starts_at: iso(start + DAY) })
    // The same PATCH again changes nothing and mails nothing.
    expect((await call('PATCH', `/ops/v1/maintenance-windows/${id}`, { token: ops, body: { duration_minutes: 90 } })).body.revision).toBe(2)
    await runCron(Date.now())
    expect(await noticeMails(`mw:${id}:changed:2`)).toEqual(recipients)
    expect(await notice(`mw:${id}:changed:3`)).toBeNull()
    const [event] = await auditEvents('maintenance.window_changed', id)
    expect(event!.details.changes).toMatchObject({ durationMinutes: { from: 60, to: 90 }, message: { from: null, to: 'Database upgrade' } })

    const cancelled = await call('DELETE', `/ops/v1/maintenance-windows/${id}`, { token: ops })
    expect(cancelled.status).toBe(200)
    expect(cancelled.body).toMatchObject({ state: 'cancelled', cancelled_at: expect.any(String) })
    expectProblem(await call('DELETE', `/ops/v1/maintenance-windows/${id}`, { token: ops }), 409, 'window-closed')
    expectProblem(await call('PATCH', `/ops/v1/maintenance-windows/${id}`, { token: ops, body: { message: 'x' } }), 409, 'window-not-changeable')
    await runCron(Date.now())
    await runCron(Date.now())
    expect(await noticeMails(`mw:${id}:cancelled`)).toEqual(recipients)
    // Tenant b heard nothing of it.
    const bNotices = await env.DB.prepare(`SELECT count(*) AS n FROM mail_outbox m JOIN notice_jobs j ON m.dedupe_key LIKE 'notice:' || j.id || ':%' WHERE j.scope_id = ? AND m.tenant_id = ?`)
      .bind(id, b.id)
      .first<{ n: number }>()
    expect(bNotices!.n).toBe(0)
  })

  it('lets a window inside its lead time shrink without an emergency, but not grow', async () => {
    // A window scheduled long ago that is now a day away (written directly: HTTP cannot wait six days).
    const id = newId('mw')
    const start = Date.now() + DAY
    const long = iso(Date.now() - 10 * DAY)
    await env.DB.prepare(
      `INSERT INTO maintenance_windows (id, kind, state, starts_at, ends_at, duration_minutes, all_tenants, tenant_ids, notified_at, created_by, created_at, updated_at)
       VALUES (?, 'maintenance', 'scheduled', ?, ?, 120, 0, ?, ?, 'operator:x', ?, ?)`,
    )
      .bind(id, iso(start), iso(start + 120 * MIN), JSON.stringify([b.id]), long, long, long)
      .run()
    await env.DB.prepare('INSERT INTO maintenance_window_tenants (window_id, tenant_id) VALUES (?, ?)').bind(id, b.id).run()
    expectProblem(await call('PATCH', `/ops/v1/maintenance-windows/${id}`, { token: ops, body: { duration_minutes: 150 } }), 422, 'lead-time-too-short')
    const shorter = await call('PATCH', `/ops/v1/maintenance-windows/${id}`, { token: ops, body: { starts_at: iso(start + 30 * MIN), duration_minutes: 30 } })
    expect(shorter.status).toBe(200)
    expect(shorter.body).toMatchObject({ duration_minutes: 30, revision: 2, emergency: false })
    const grown = await call('PATCH', `/ops/v1/maintenance-windows/${id}`, { token: ops, body: { duration_minutes: 60, emergency: true, reason: 'Needs the full hour after all' } })
    expect(grown.body).toMatchObject({ duration_minutes: 60, revision: 3, emergency: true })
    // Planned maintenance is excluded from availability, so an emergency does not become one without the notice.
    expectProblem(await call('PATCH', `/ops/v1/maintenance-windows/${id}`, { token: ops, body: { emergency: false } }), 422, 'lead-time-too-short')
  })
})

describe('the five-minute job and the maintenance calendar', () => {
  it('starts and ends a window at its times, mails start and end once even when a slot runs twice, and activeMaintenance follows the clock', async () => {
    const start = Date.now() + 20 * DAY
    const created = await schedule({ starts_at: iso(start), duration_minutes: 90, kind: 'maintenance', tenant_ids: [a.id], message: 'Upgrading storage' })
    const id = created.body.id
    const db = database(env)
    expect(await activeMaintenance(db, start - 1, a.id)).toBeNull()
    expect(await activeMaintenance(db, start, a.id)).toEqual({
      window_id: id,
      kind: 'maintenance',
      starts_at: iso(start),
      ends_at: iso(start + 90 * MIN),
      message: 'Upgrading storage',
      retry_after_seconds: 5400,
    })
    expect(await activeMaintenance(db, start, b.id)).toBeNull()
    // Not platform-wide: the platform as a whole is not in maintenance.
    expect(await activeMaintenance(db, start)).toBeNull()

    await runCron(start - 5 * MIN)
    expect((await env.DB.prepare('SELECT state FROM maintenance_windows WHERE id = ?').bind(id).first())!.state).toBe('scheduled')
    // The same slot twice, at the same time and once more after.
    await Promise.all([runCron(start), runCron(start)])
    await runCron(start)
    const row = await env.DB.prepare('SELECT state, started_at FROM maintenance_windows WHERE id = ?').bind(id).first()
    expect(row).toEqual({ state: 'active', started_at: iso(start) })
    expect(await auditEvents('maintenance.window_started', id)).toHaveLength(1)
    expect(await noticeMails(`mw:${id}:started`)).toEqual(await recipientsOf(a))

    await Promise.all([runCron(start + 90 * MIN), runCron(start + 90 * MIN)])
    await runCron(start + 90 * MIN)
    expect(await env.DB.prepare('SELECT state, ended_at FROM maintenance_windows WHERE id = ?').bind(id).first()).toEqual({ state: 'ended', ended_at: iso(start + 90 * MIN) })
    expect(await auditEvents('maintenance.window_ended', id)).toHaveLength(1)
    expect(await noticeMails(`mw:${id}:ended`)).toEqual(await recipientsOf(a))
    expect(await activeMaintenance(db, start + 90 * MIN, a.id)).toBeNull()
    expect((await notice(`mw:${id}:ended`))!.status).toBe('done')
  })

  it('sends the 7-day and the 1-day reminder, each once', async () => {
    const start = Date.now() + 25 * DAY
    const created = await schedule({ starts_at: iso(start), duration_minutes: 60, kind: 'maintenance', tenant_ids: [b.id] })
    const id = created.body.id
    await runCron(start - 8 * DAY)
    expect(await notice(`mw:${id}:rev1:7d`)).toBeNull()
    await Promise.all([runCron(start - 7 * DAY), runCron(start - 7 * DAY)])
    await runCron(start - 7 * DAY + 5 * MIN)
    expect((await notice(`mw:${id}:rev1:7d`))!.subject).toMatch(/^【Mamori】メンテナンスまであと 7 日です/)
    expect(await noticeMails(`mw:${id}:rev1:7d`)).toEqual(await recipientsOf(b))
    await Promise.all([runCron(start - DAY), runCron(start - DAY)])
    await runCron(start - DAY)
    expect((await notice(`mw:${id}:rev1:1d`))!.subject).toMatch(/^【Mamori】メンテナンスの前日のお知らせ/)
    expect(await noticeMails(`mw:${id}:rev1:1d`)).toEqual(await recipientsOf(b))
    expect(await auditEvents('maintenance.window_reminder', id)).toHaveLength(2)
  })

  it('ends a window in force at once on DELETE, mailing its end once', async () => {
    const created = await schedule({ starts_at: iso(Date.now()), duration_minutes: 60, kind: 'maintenance', emergency: true, reason: 'Hot fix', tenant_ids: [b.id] })
    expect(created.status).toBe(201)
    const id = created.body.id
    expect((await activeMaintenance(database(env), Date.now() + 1000, b.id))!.window_id).toBe(id)
    const ended = await call('DELETE', `/ops/v1/maintenance-windows/${id}`, { token: ops })
    expect(ended.body).toMatchObject({ state: 'ended', ended_at: expect.any(String), ends_at: created.body.ends_at })
    expect(await activeMaintenance(database(env), Date.now() + 1000, b.id)).toBeNull()
    await runCron(Date.now())
    expect(await noticeMails(`mw:${id}:ended`)).toEqual(await recipientsOf(b))
    expect((await auditEvents('maintenance.window_ended', id))[0]!.details).toMatchObject({ early: true })
  })
})

describe('announcements', () => {
  it('wants 183 days for an end of service (422 otherwise, nothing stored)', async () => {
    const before = await snapshotCounts()
    const body = { kind: 'end_of_service', subject: 'Mamori v1 ends', body: 'We retire v1.\nPlease move to v2.' }
    expectProblem(await call('POST', '/ops/v1/announcements', { token: ops, body: { ...body, effective_at: iso(Date.now() + 183 * DAY - MIN) } }), 422, 'lead-time-too-short')
    expect(await snapshotCounts()).toEqual(before)
    const ok = await call('POST', '/ops/v1/announcements', { token: ops, body: { ...body, effective_at: iso(Date.now() + 183 * DAY + MIN) } })
    expect(ok.status).toBe(201)
    expect(ok.body).toMatchObject({ kind: 'end_of_service', subject: 'Mamori v1 ends', body: 'We retire v1.\nPlease move to v2.', notice: { status: 'pending' } })
  })

  it('sends upgrades and notices at once to every tenant, and lists them newest first in pages', async () => {
    const upgrade = await call('POST', '/ops/v1/announcements', { token: ops, body: { kind: 'upgrade', effective_at: iso(Date.now() + DAY), subject: 'Version 0.2', body: 'Faster sign-in.' } })
    expect(upgrade.status).toBe(201)
    await runCron(Date.now())
    const mails = await noticeMails(`ann:${upgrade.body.id}`)
    for (const t of [a, b]) expect(mails).toEqual(expect.arrayContaining([t.adminEmail, contactOf(t)]))
    const tenants = (await env.DB.prepare('SELECT count(*) AS n FROM tenants').first<{ n: number }>())!.n
    const first = await call('GET', '/ops/v1/announcements?limit=1', { token: ops })
    expect(first.body.items[0]).toMatchObject({ id: upgrade.body.id, notice: { status: 'done', tenants_notified: tenants } })
    const second = await call('GET', `/ops/v1/announcements?limit=1&cursor=${first.body.next_cursor}`, { token: ops })
    expect(second.body.items[0].kind).toBe('end_of_service')
    expect((await auditEvents('announcement.create', upgrade.body.id))[0]).toMatchObject({ chain: 'platform', category: 'administration' })
    expect((await auditEvents('notice.completed', (await env.DB.prepare('SELECT id FROM notice_jobs WHERE dedupe_key = ?').bind(`ann:${upgrade.body.id}`).first<{ id: string }>())!.id))).toHaveLength(1)
  })
})

describe('incidents', () => {
  it('opens an incident for one tenant, mails its contact and admins at once and on every update, and resolves it once', async () => {
    const opened = await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'Slow file uploads', description: 'Uploads time out.\nWe are on it.', severity: 'major', tenant_ids: [a.id] } })
    expect(opened.status).toBe(201)
    const id = opened.body.id
    expect(opened.body).toMatchObject({ status: 'investigating', severity: 'major', source: 'operator', tenant_ids: [a.id], resolved_at: null, updates: [{ status: 'investigating', message: 'Uploads time out.\nWe are on it.' }] })
    await runCron(Date.now())
    expect(await noticeMails(`inc:${id}:opened`)).toEqual(await recipientsOf(a))

    const updated = await call('PATCH', `/ops/v1/incidents/${id}`, { token: ops, body: { update: 'Cause found: a full disk.' } })
    expect(updated.body.updates.map((u: { message: string }) => u.message)).toEqual(['Uploads time out.\nWe are on it.', 'Cause found: a full disk.'])
    const resolved = await call('PATCH', `/ops/v1/incidents/${id}`, { token: ops, body: { status: 'resolved', update: 'Disk replaced.' } })
    expect(resolved.body).toMatchObject({ status: 'resolved', resolved_at: expect.any(String) })
    expectProblem(await call('PATCH', `/ops/v1/incidents/${id}`, { token: ops, body: { status: 'investigating' } }), 409, 'incident-resolved')
    expectProblem(await call('PATCH', `/ops/v1/incidents/${id}`, { token: ops, body: {} }), 422, 'validation')
    expectProblem(await call('PATCH', '/ops/v1/incidents/inc_00000000000000000000000000', { token: ops, body: { update: 'x' } }), 404, 'not-found')
    await runCron(Date.now())
    await runCron(Date.now())
    const update = await env.DB.prepare("SELECT dedupe_key FROM notice_jobs WHERE scope_id = ? AND purpose = 'incident.update'").bind(id).first<{ dedupe_key: string }>()
    expect(await noticeMails(update!.dedupe_key)).toEqual(await recipientsOf(a))
    expect(await noticeMails(`inc:${id}:resolved`)).toEqual(await recipientsOf(a))
    expect((await notice(`inc:${id}:resolved`))!.subject).toBe('【Mamori】障害復旧のお知らせ: Slow file uploads')
    expect((await auditEvents('incident.open', id))[0]).toMatchObject({ chain: 'platform', category: 'security', actor_type: 'operator' })
    expect(await auditEvents('incident.update', id)).toHaveLength(1)
    expect(await auditEvents('incident.resolve', id)).toHaveLength(1)
    // The single call site for the operators' alert channel saw every step.
    expect((await auditEvents('incident.operators_notified', id)).map((e) => e.details.event)).toEqual(['incident.opened', 'incident.updated', 'incident.resolved'])
    // ... and reached the operators' webhook, once per step.
    const kinds = async () =>
      ((await (await fetch('https://alerts.test/__double/received?tenant=platform')).json()) as { body: string }[])
        .map((d) => JSON.parse(d.body) as { kind: string; incident_id: string | null; category: string })
        .filter((d) => d.incident_id === id)
        .map((d) => [d.category, d.kind])
    for (let i = 0; i < 100 && (await kinds()).length < 3; i++) await new Promise((r) => setTimeout(r, 50))
    expect(await kinds()).toEqual([
      ['operations', 'incident.opened'],
      ['operations', 'incident.updated'],
      ['operations', 'incident.resolved'],
    ])
  })

  it('shows tenant admins the incidents that affect them and never another tenant\u2019s', async () => {
    const onlyA = await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'A only', description: 'Just a.', severity: 'minor', tenant_ids: [a.id] } })
    const everyone = await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'Everyone', description: 'All of you.', severity: 'critical' } })
    const seenByA = await call('GET', '/api/v1/incidents', { token: a.adminToken })
    const seenByB = await call('GET', '/api/v1/incidents', { token: b.adminToken })
    expect(seenByA.status).toBe(200)
    const idsA = seenByA.body.items.map((i: { id: string }) => i.id)
    const idsB = seenByB.body.items.map((i: { id: string }) => i.id)
    expect(idsA).toEqual(expect.arrayContaining([onlyA.body.id, everyone.body.id]))
    expect(idsB).toContain(everyone.body.id)
    expect(idsB).not.toContain(onlyA.body.id)
    // Nothing in a tenant's view says which other tenants shared an incident.
    expect(Object.keys(seenByA.body.items[0]).sort()).toEqual(['description', 'id', 'opened_at', 'resolved_at', 'severity', 'status', 'title', 'updates'])
    expect(JSON.stringify(seenByB.body)).not.toContain(a.id)
    const paged = await call('GET', '/api/v1/incidents?limit=1', { token: a.adminToken })
    expect(paged.body.items).toHaveLength(1)
    expect(paged.body.next_cursor).toEqual(expect.any(String))
    const member = await userOf(a, 'member')
    expectProblem(await call('GET', '/api/v1/incidents', { token: member.token }), 403, 'forbidden')
    await call('PATCH', `/ops/v1/incidents/${everyone.body.id}`, { token: ops, body: { status: 'resolved' } })
  })

  it('refuses unknown tenants and bad severities, storing nothing', async () => {
    const before = await snapshotCounts()
    expectProblem(await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 't', description: 'd', severity: 'major', tenant_ids: ['tn_00000000000000000000000000'] } }), 422, 'validation')
    expectProblem(await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 't', description: 'd', severity: 'apocalyptic' } }), 422, 'validation')
    expect(await snapshotCounts()).toEqual(before)
  })
})

describe('incidents from the self-check', () => {
  const failingD1 = async (work: () => Promise<void>) => {
    await env.DB.prepare('ALTER TABLE plans RENAME TO plans_away').run()
    try {
      await work()
    } finally {
      await env.DB.prepare('ALTER TABLE plans_away RENAME TO plans').run()
    }
  }
  const selfCheckIncidents = async () =>
    (await env.DB.prepare("SELECT id, status, opened_at, resolved_at, failed_check, severity, all_tenants FROM incidents WHERE source = 'self-check' ORDER BY id").all()).results

  it('opens an incident for every tenant when D1 fails two runs in a row (the same slot twice counts once), and resolves it when D1 answers again', async () => {
    const t0 = Date.parse('2031-01-01T00:00:00Z')
    await failingD1(async () => {
      await runCron(t0)
      await runCron(t0)
    })
    expect(await selfCheckIncidents()).toEqual([])
    // The count survives in R2 too, where a D1 outage cannot erase it.
    const mirrored = (await (await env.BACKUPS.get('platform/self-check-state.json'))!.json()) as { checks: { d1: { failures: number } } }
    expect(mirrored.checks.d1.failures).toBe(1)
    await env.DB.prepare("DELETE FROM platform_settings WHERE key = 'self_check_state'").run()
    await failingD1(() => runCron(t0 + 5 * MIN))
    const [incident] = await selfCheckIncidents()
    expect(incident).toMatchObject({ status: 'investigating', opened_at: iso(t0), failed_check: 'd1', severity: 'critical', all_tenants: 1 })
    const id = (incident as { id: string }).id
    await runCron(t0 + 10 * MIN)
    expect((await selfCheckIncidents())[0]).toMatchObject({ id, status: 'resolved' })
    await runCron(t0 + 15 * MIN)
    expect(await selfCheckIncidents()).toHaveLength(1)
    expect(await noticeMails(`inc:${id}:opened`)).toEqual(expect.arrayContaining([a.adminEmail, contactOf(a), b.adminEmail, contactOf(b)]))
    expect(await noticeMails(`inc:${id}:resolved`)).toEqual(expect.arrayContaining([a.adminEmail, contactOf(a)]))
    expect((await auditEvents('incident.open', id))[0]).toMatchObject({ actor_type: 'system', actor_id: 'self-check' })
    const alerts = (await env.DB.prepare("SELECT details FROM audit_events WHERE action = 'incident.operators_notified' AND target_id = 'd1' ORDER BY seq").all<{ details: string }>()).results
    expect(alerts.map((r) => JSON.parse(r.details).event)).toEqual(['self_check.failing', 'self_check.recovered'])
  })
})

describe('GET /status', () => {
  it('shows the version, platform-wide maintenance now, windows ahead, open incidents and announcements, and nothing of single tenants', async () => {
    const tenantOnly = await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'Secret tenant trouble', description: 'Only a.', severity: 'major', tenant_ids: [a.id] } })
    const everyone = await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'Login slow', description: 'Everyone.', severity: 'minor' } })
    const ahead = await schedule({ starts_at: iso(Date.now() + 90 * DAY), duration_minutes: 60, kind: 'maintenance', message: 'Quarterly upgrade' })
    const now = await schedule({ starts_at: iso(Date.now()), duration_minutes: 30, kind: 'maintenance', emergency: true, reason: 'Urgent fix', message: 'Back at half past.' })
    expect(now.status).toBe(201)

    const reply = await call('GET', '/status')
    expect(reply.status).toBe(200)
    expect(reply.headers.get('Vary')).toBe('Accept')
    expect(reply.body).toMatchObject({
      version: env.APP_VERSION,
      maintenance: { active: true, window_id: now.body.id, kind: 'maintenance', ends_at: now.body.ends_at, message: 'Back at half past.' },
      support: { hours: expect.stringContaining('10:00–18:00 JST') },
    })
    expect(reply.body.upcoming_windows).toContainEqual({ id: ahead.body.id, kind: 'maintenance', starts_at: ahead.body.starts_at, ends_at: ahead.body.ends_at, message: 'Quarterly upgrade' })
    expect(reply.body.standing_windows).toHaveLength(3)
    const open = reply.body.open_incidents.map((i: { id: string }) => i.id)
    expect(open).toContain(everyone.body.id)
    expect(open).not.toContain(tenantOnly.body.id)
    expect(reply.body.announcements[0]).toMatchObject({ kind: 'upgrade', subject: 'Version 0.2' })
    const text = JSON.stringify(reply.body)
    for (const secret of [a.id, b.id, a.slug, b.slug, 'Secret tenant trouble']) expect(text).not.toContain(secret)

    await call('DELETE', `/ops/v1/maintenance-windows/${now.body.id}`, { token: ops })
    expect((await call('GET', '/status')).body.maintenance).toEqual({ active: false, window_id: null, kind: null, ends_at: null, message: null })
    await call('PATCH', `/ops/v1/incidents/${everyone.body.id}`, { token: ops, body: { status: 'resolved' } })
    await call('PATCH', `/ops/v1/incidents/${tenantOnly.body.id}`, { token: ops, body: { status: 'resolved' } })
  })

  it('answers a small HTML page to a browser, escaped and without scripts, and JSON to everyone else', async () => {
    const title = 'Queue <script>alert(1)</script> stuck'
    const incident = await call('POST', '/ops/v1/incidents', { token: ops, body: { title, description: 'Jobs wait.', severity: 'major' } })
    const page = await call('GET', '/status', { headers: { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' } })
    expect(page.status).toBe(200)
    expect(page.headers.get('Content-Type')).toBe('text/html; charset=UTF-8')
    expect(page.headers.get('Content-Security-Policy')).toContain("script-src 'self'")
    expect(page.body).toMatch(/^<!doctype html><html lang="en">/)
    expect(page.body).toContain('Queue &lt;script&gt;alert(1)&lt;/script&gt; stuck')
    expect(page.body).not.toMatch(/<script|<style|style=|<link|https?:\/\//)
    expect(page.body).toContain(`Version ${env.APP_VERSION}`)
    for (const accept of ['*/*', 'application/json', 'application/json, text/html;q=0.5']) {
      expect((await call('GET', '/status', { headers: { Accept: accept } })).headers.get('Content-Type')).toMatch(/^application\/json/)
    }
    expect((await call('GET', '/status', { headers: { Accept: 'text/html' } })).headers.get('Content-Type')).toMatch(/^text\/html/)
    await call('PATCH', `/ops/v1/incidents/${incident.body.id}`, { token: ops, body: { status: 'resolved' } })
  })
})
