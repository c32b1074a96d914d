import { env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { browse, cookieOf, hidden, type Page } from './console-browse'
import { OPERATOR, call, lastCode, operator, snapshotCounts, tenantWithAdmin, uniqueSlug } from './helpers'
import { freshIp, from } from './throttle-helpers'
import { jstDate } from '../src/lib/time'
import { snapshotInstanceId } from '../src/services/backup/fan-out'

const OPS_COOKIE = '__Host-mamori_ops'
const DAY_MS = 86_400_000

/** The operator signs in through the forms: password, then the mailed code (always asked of operators). */
async function opsSignIn(): Promise<string> {
  const first = await browse('POST', '/ops/console/sign-in', { form: { email: OPERATOR.email, password: OPERATOR.password } })
  expect(first.status).toBe(200)
  expect(first.headers.get('Set-Cookie')).toBeNull()
  const last = await browse('POST', '/ops/console/sign-in/mfa', { form: { challenge: hidden(first.text, 'challenge'), code: await lastCode(OPERATOR.email) } })
  expect(last.status).toBe(303)
  expect(last.headers.get('Location')).toBe('/ops/console')
  return cookieOf(last, OPS_COOKIE)
}

/** A `datetime-local` value in JST, `ms` from now. */
function jstLocal(ms: number) {
  return new Date(Date.now() + ms + 9 * 3_600_000).toISOString().slice(0, 16)
}

/** Waits for a snapshot workflow instance to finish, through the engine's own status. */
async function settled(instanceId: string) {
  const instance = await env.SNAPSHOTS.get(instanceId)
  for (let i = 0; i < 600; i++) {
    const status = (await instance.status()) as { status: string }
    if (['complete', 'errored', 'terminated'].includes(status.status)) return expect(status.status).toBe('complete')
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`instance ${instanceId} did not finish`)
}

async function count(sql: string, ...params: unknown[]) {
  return (await env.DB.prepare(sql).bind(...params).first<{ n: number }>())!.n
}

describe('operator console', () => {
  let cookie: string
  let csrf: string

  beforeAll(async () => {
    await operator()
    cookie = await opsSignIn()
    csrf = hidden((await browse('GET', '/ops/console', { cookie })).text, '_csrf')
  })

  async function post(path: string, form: Record<string, string | string[]>, headers?: Record<string, string>): Promise<Page> {
    return browse('POST', path, { cookie, form: { _csrf: csrf, ...form }, headers })
  }

  it('signs in with the mailed second factor into its own __Host- cookie, refusing a wrong password with one message', async () => {
    const wrong = await browse('POST', '/ops/console/sign-in', { form: { email: OPERATOR.email, password: 'not-the-password-123' } })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('Set-Cookie')).toBeNull()
    expect(wrong.text).toContain('メールアドレスまたはパスワードが正しくありません。')
    const first = await browse('POST', '/ops/console/sign-in', { form: { email: OPERATOR.email, password: OPERATOR.password } })
    const done = await browse('POST', '/ops/console/sign-in/mfa', { form: { challenge: hidden(first.text, 'challenge'), code: await lastCode(OPERATOR.email) } })
    const set = done.headers.get('Set-Cookie')!
    expect(set).toMatch(/^__Host-mamori_ops=[^;]+;/)
    expect(set.split(';').map((a) => a.trim().toLowerCase())).toEqual(expect.arrayContaining(['path=/', 'httponly', 'secure', 'samesite=strict']))
    const tenants = await browse('GET', '/ops/console', { cookie: cookieOf(done, OPS_COOKIE) })
    expect(tenants.status).toBe(200)
    expect(tenants.headers.get('Cache-Control')).toBe('no-store')
    expect(tenants.text).toContain(OPERATOR.email)
    expect(tenants.text).not.toMatch(/<style|style="|<script/)
    // A wrong code ends at the sign-in form again, with no cookie.
    const again = await browse('POST', '/ops/console/sign-in', { form: { email: OPERATOR.email, password: OPERATOR.password } })
    const bad = await browse('POST', '/ops/console/sign-in/mfa', { form: { challenge: hidden(again.text, 'challenge'), code: '000000' } })
    expect(bad.headers.get('Set-Cookie')).toBeNull()
    expect(bad.status).not.toBe(303)
  })

  it('accepts its cookie only on /ops/console: not on /ops/v1, not on /console; and the tenant cookie is no key to it', async () => {
    const token = cookie.split('=')[1]!
    const viaCookie = await call('GET', '/ops/v1/tenants', { headers: { Cookie: cookie } })
    expect(viaCookie.status).toBe(401)
    expect((await call('GET', '/ops/v1/tenants', { token })).status).toBe(200)
    // The operator's token under the tenant console's cookie name is no tenant session either.
    for (const c of [cookie, `__Host-mamori_console=${token}`]) {
      const page = await browse('GET', '/console', { cookie: c })
      expect(page.status).toBe(303)
      expect(page.headers.get('Location')).toBe('/console/sign-in')
    }
    const tenant = await tenantWithAdmin()
    for (const c of [`__Host-mamori_console=${tenant.adminToken}`, `${OPS_COOKIE}=${tenant.adminToken}`]) {
      const page = await browse('GET', '/ops/console', { cookie: c })
      expect(page.status).toBe(303)
      expect(page.headers.get('Location')).toBe('/ops/console/sign-in')
    }
  })

  it('refuses forms without the CSRF token, with a wrong one, or from another site, and changes nothing', async () => {
    const slug = uniqueSlug('csrf')
    const form = { slug, name: 'CSRF', plan: 'standard', contact_email: `c@${slug}.example`, admin_email: `a@${slug}.example`, admin_name: 'A' }
    const before = await snapshotCounts()
    const attempts = [
      await browse('POST', '/ops/console/tenants', { cookie, form }),
      await browse('POST', '/ops/console/tenants', { cookie, form: { ...form, _csrf: `${csrf.slice(0, -2)}AA` } }),
      await post('/ops/console/tenants', form, { Origin: 'https://evil.example' }),
      await post('/ops/console/tenants', form, { 'Sec-Fetch-Site': 'cross-site' }),
      await post('/ops/console/incidents', { title: 'x', description: 'y', severity: 'minor' }, { 'Sec-Fetch-Site': 'same-site' }),
    ]
    for (const page of attempts) {
      expect(page.status).toBe(403)
      expect(page.headers.get('Content-Type')).toMatch(/^text\/html/)
      expect(page.text).toContain('別のサイトから送信された')
    }
    expect(await snapshotCounts()).toEqual(before)
  })

  it('creates a tenant through the form, showing the admin’s temporary password once, and it is in D1 and audited', async () => {
    const slug = uniqueSlug('form')
    const page = await post('/ops/console/tenants', { slug, name: 'Form Tenant', plan: 'free', contact_email: `it@${slug}.example`, admin_email: `boss@${slug}.example`, admin_name: 'Boss' })
    expect(page.status).toBe(201)
    const temporary = /data-testid="temporary-password">([^<]+)</.exec(page.text)?.[1]
    expect(temporary).toBeDefined()
    const row = await env.DB.prepare('SELECT id, name, plan_id AS plan, status FROM tenants WHERE slug = ?').bind(slug).first<{ id: string; name: string; plan: string; status: string }>()
    expect(row).toMatchObject({ name: 'Form Tenant', plan: 'free', status: 'active' })
    expect(await count("SELECT count(*) AS n FROM users WHERE tenant_id = ? AND email = ? AND role = 'admin' AND must_change_password = 1", row!.id, `boss@${slug}.example`)).toBe(1)
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'tenant.create' AND target_id = ?", row!.id)).toBe(1)
    expect(await count('SELECT count(*) AS n FROM audit_events WHERE details LIKE ?', `%${temporary}%`)).toBe(0)
    // The list shows it, without the password.
    const list = await browse('GET', '/ops/console', { cookie })
    expect(list.text).toContain(slug)
    expect(list.text).not.toContain(temporary!)
    // A taken slug is a form error, as the API's 409.
    const dup = await post('/ops/console/tenants', { slug, name: 'Again', plan: 'free', contact_email: `it@${slug}.example`, admin_email: `x@${slug}.example`, admin_name: 'X' })
    expect(dup.status).toBe(409)
    expect(dup.text).toContain('class="flash error"')
  })

  it('changes a tenant’s plan and per-contract limits, suspends and reactivates it', async () => {
    const tenant = await tenantWithAdmin('standard')
    const base = `/ops/console/tenants/${tenant.id}`
    expect((await browse('GET', base, { cookie })).status).toBe(200)
    expect((await post(`${base}/plan`, { plan: 'enterprise' })).status).toBe(303)
    const limits = { seats: '7', concurrent_sessions: '', storage_bytes: '', requests_per_minute: '', requests_per_month: '' }
    expect((await post(`${base}/limits`, limits)).status).toBe(303)
    const bad = await post(`${base}/limits`, { ...limits, seats: '-1' })
    expect(bad.status).toBe(422)
    expect(bad.text).toContain('limits.seats')
    let row = await env.DB.prepare('SELECT plan_id AS plan, status FROM tenants WHERE id = ?').bind(tenant.id).first()
    expect(row).toEqual({ plan: 'enterprise', status: 'active' })
    expect((await call('GET', `/ops/v1/tenants/${tenant.id}`, { token: await operator() })).body.limits.seats).toBe(7)
    expect((await post(`${base}/status`, { status: 'suspended' })).status).toBe(303)
    expect((await call('GET', '/api/v1/me', { token: tenant.adminToken })).status).toBe(401)
    expect((await post(`${base}/status`, { status: 'active' })).status).toBe(303)
    row = await env.DB.prepare('SELECT status FROM tenants WHERE id = ?').bind(tenant.id).first()
    expect(row).toEqual({ status: 'active' })
  })

  it('refuses a window with too little lead time as a form error and stores nothing; an emergency with a reason is stored and audited', async () => {
    const before = await count('SELECT count(*) AS n FROM maintenance_windows')
    const short = await post('/ops/console/windows', { kind: 'maintenance', starts_at: jstLocal(2 * DAY_MS), duration_minutes: '60', reason: '', message: '' })
    expect(short.status).toBe(422)
    expect(short.text).toContain('class="flash error"')
    expect(short.text).toContain('7 days&#39; notice')
    expect(await count('SELECT count(*) AS n FROM maintenance_windows')).toBe(before)
    const noReason = await post('/ops/console/windows', { kind: 'maintenance', starts_at: jstLocal(2 * DAY_MS), duration_minutes: '60', emergency: 'true', reason: '' })
    expect(noReason.status).toBe(422)
    expect(await count('SELECT count(*) AS n FROM maintenance_windows')).toBe(before)
    const ok = await post('/ops/console/windows', { kind: 'maintenance', starts_at: jstLocal(2 * DAY_MS), duration_minutes: '45', emergency: 'true', reason: 'Security patch', message: 'Brief pause' })
    expect(ok.status).toBe(303)
    const stored = await env.DB.prepare('SELECT id, emergency, reason, duration_minutes AS minutes, state FROM maintenance_windows ORDER BY id DESC LIMIT 1').first<{ id: string; emergency: number; reason: string; minutes: number; state: string }>()
    expect(stored).toMatchObject({ emergency: 1, reason: 'Security patch', minutes: 45, state: 'scheduled' })
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'maintenance.window_scheduled' AND target_id = ?", stored!.id)).toBe(1)
    // The calendar lists it next to the standing monthly window, and it can be cancelled there.
    const calendar = await browse('GET', '/ops/console/windows', { cookie })
    expect(calendar.text).toContain('Security patch')
    expect(calendar.text).toContain('毎月第 4 日曜日 00:00')
    expect((await post(`/ops/console/windows/${stored!.id}/cancel`, {})).status).toBe(303)
    expect(await env.DB.prepare('SELECT state FROM maintenance_windows WHERE id = ?').bind(stored!.id).first()).toEqual({ state: 'cancelled' })
  })

  it('changes a scheduled window through its prefilled form, and refuses dropping the emergency mark without the lead time', async () => {
    const ok = await post('/ops/console/windows', { kind: 'maintenance', starts_at: jstLocal(3 * DAY_MS), duration_minutes: '60', emergency: 'true', reason: 'Router swap', message: 'Short pause' })
    expect(ok.status).toBe(303)
    const row = await env.DB.prepare("SELECT id, starts_at FROM maintenance_windows WHERE reason = 'Router swap'").first<{ id: string; starts_at: string }>()
    const calendar = await browse('GET', '/ops/console/windows', { cookie })
    expect(calendar.text).toContain(`action="/ops/console/windows/${row!.id}"`)
    // This window's own form (others may be on the page): the start as it shows it, to the minute.
    const shown = hidden(calendar.text.slice(calendar.text.indexOf(`action="/ops/console/windows/${row!.id}"`)), 'was_starts_at')
    const changed = await post(`/ops/console/windows/${row!.id}`, { was_starts_at: shown, starts_at: shown, duration_minutes: '30', emergency: 'true', reason: 'Router swap', message: 'Shorter pause' })
    expect(changed.status).toBe(303)
    expect(changed.headers.get('Location')).toBe('/ops/console/windows?done=changed')
    const after = await env.DB.prepare('SELECT starts_at, duration_minutes, message, revision FROM maintenance_windows WHERE id = ?').bind(row!.id).first()
    expect(after).toEqual({ starts_at: row!.starts_at, duration_minutes: 30, message: 'Shorter pause', revision: 2 })
    const event = await env.DB.prepare("SELECT details FROM audit_events WHERE action = 'maintenance.window_changed' AND target_id = ?").bind(row!.id).first<{ details: string }>()
    expect(Object.keys(JSON.parse(event!.details).changes).sort()).toEqual(['durationMinutes', 'message'])
    // Unticking the emergency box makes it planned maintenance three days out: short of the 7 days' notice, so nothing changes.
    const dropped = await post(`/ops/console/windows/${row!.id}`, { was_starts_at: shown, starts_at: shown, duration_minutes: '30', reason: 'Router swap', message: 'Shorter pause' })
    expect(dropped.status).toBe(422)
    expect(dropped.text).toContain('class="flash error"')
    expect(await env.DB.prepare('SELECT emergency, revision FROM maintenance_windows WHERE id = ?').bind(row!.id).first()).toEqual({ emergency: 1, revision: 2 })
    expect((await post(`/ops/console/windows/${row!.id}`, { was_starts_at: shown, starts_at: shown, duration_minutes: '301', emergency: 'true', reason: 'Router swap' })).status).toBe(422)
    expect((await post(`/ops/console/windows/${row!.id}/cancel`, {})).status).toBe(303)
  })

  it('replaces the standing monthly window rule through its form, audited, refusing an invalid rule and changing nothing', async () => {
    const save = (form: Record<string, string>) => post('/ops/console/windows/standing-rule', form)
    const bad = await save({ week_of_month: '5', weekday: '6', start_time_jst: '01:30', duration_minutes: '120' })
    expect(bad.status).toBe(422)
    expect(await count("SELECT count(*) AS n FROM platform_settings WHERE value LIKE '%\"week_of_month\":5%'")).toBe(0)
    const saved = await save({ week_of_month: '2', weekday: '6', start_time_jst: '01:30', duration_minutes: '120' })
    expect(saved.status).toBe(303)
    expect(saved.headers.get('Location')).toBe('/ops/console/windows?done=rule')
    expect((await browse('GET', '/ops/console/windows', { cookie })).text).toContain('毎月第 2 土曜日 01:30')
    expect((await call('GET', '/ops/v1/maintenance-windows/standing-rule', { token: await operator() })).body.rule).toEqual({ week_of_month: 2, weekday: 6, start_time_jst: '01:30', duration_minutes: 120 })
    const event = await env.DB.prepare("SELECT details FROM audit_events WHERE action = 'maintenance.standing_rule_changed' ORDER BY seq DESC LIMIT 1").first<{ details: string }>()
    expect(JSON.parse(event!.details).to).toEqual({ week_of_month: 2, weekday: 6, start_time_jst: '01:30', duration_minutes: 120 })
    // Back to AV-1's rule for the rest of the suite.
    expect((await save({ week_of_month: '4', weekday: '0', start_time_jst: '00:00', duration_minutes: '300' })).status).toBe(303)
  })

  it('opens an incident, adds an update and resolves it', async () => {
    const opened = await post('/ops/console/incidents', { title: 'Console incident', description: 'Uploads fail', severity: 'major', tenant_ids: '' })
    expect(opened.status).toBe(303)
    const row = await env.DB.prepare("SELECT id, status FROM incidents WHERE title = 'Console incident'").first<{ id: string; status: string }>()
    expect(row!.status).toBe('investigating')
    expect((await post(`/ops/console/incidents/${row!.id}/update`, { update: 'Cause found' })).status).toBe(303)
    expect((await post(`/ops/console/incidents/${row!.id}/update`, { update: 'Fixed', status: 'resolved' })).status).toBe(303)
    expect(await env.DB.prepare('SELECT status FROM incidents WHERE id = ?').bind(row!.id).first()).toEqual({ status: 'resolved' })
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'incident.resolve' AND target_id = ?", row!.id)).toBe(1)
    const page = await browse('GET', '/ops/console/incidents', { cookie })
    expect(page.text).toContain('Cause found')
    expect(page.text).toContain('解決済み')
    // Resolved stays resolved: the form says so rather than changing it.
    const reopen = await post(`/ops/console/incidents/${row!.id}/update`, { update: 'Again', status: 'investigating' })
    expect(reopen.status).toBe(409)
  })

  it('creates an announcement, refusing an end of service without its lead time', async () => {
    const before = await count('SELECT count(*) AS n FROM announcements')
    const early = await post('/ops/console/announcements', { kind: 'end_of_service', effective_at: jstLocal(30 * DAY_MS), subject: 'EOS', body: 'Ends' })
    expect(early.status).toBe(422)
    expect(await count('SELECT count(*) AS n FROM announcements')).toBe(before)
    const ok = await post('/ops/console/announcements', { kind: 'notice', effective_at: jstLocal(DAY_MS), subject: 'Console notice', body: 'Line one\nLine two' })
    expect(ok.status).toBe(303)
    expect((await browse('GET', '/ops/console/announcements', { cookie })).text).toContain('Console notice')
  })

  it('shows the SLA report with statuses, the summary in the viewer’s language and the checklist in both languages', async () => {
    const ja = await browse('GET', '/ops/console/sla', { cookie })
    expect(ja.status).toBe(200)
    expect(ja.text).toContain('AV-1')
    expect(ja.text).toMatch(/class="status (met|not_met|not_yet_measured|organisational)"/)
    const en = await browse('GET', '/ops/console/sla', { cookie, headers: { 'Accept-Language': 'en' } })
    expect(en.text).toContain('<html lang="en">')
    for (const link of ['format=html&amp;lang=ja', 'format=html&amp;lang=en', 'format=csv&amp;lang=ja', 'format=csv&amp;lang=en']) expect(ja.text).toContain(link)
    const month = /name="month" type="month" value="([^"]+)"/.exec(ja.text)![1]!
    const html = await browse('GET', `/ops/console/sla/checklist?month=${month}&format=html&lang=en`, { cookie })
    expect(html.status).toBe(200)
    expect(html.headers.get('Content-Type')).toMatch(/^text\/html/)
    const csv = await browse('GET', `/ops/console/sla/checklist?month=${month}&format=csv&lang=ja`, { cookie })
    expect(csv.headers.get('Content-Disposition')).toMatch(/^attachment/)
    expect((await browse('GET', '/ops/console/sla?month=2026-13', { cookie })).status).toBe(422)
  })

  it('filters the platform audit log by tenant and action', async () => {
    const tenant = await tenantWithAdmin()
    const page = await browse('GET', `/ops/console/audit?tenant_id=${tenant.id}&action=auth.password_change`, { cookie })
    expect(page.status).toBe(200)
    expect(page.text).toContain('auth.password_change')
    expect(page.text).toContain(tenant.id)
    expect(page.text).not.toContain('tenant.create')
    expect((await browse('GET', '/ops/console/audit?since=2026-02-01&until=2026-01-01', { cookie })).status).toBe(422)
  })

  it('answers unknown console paths with an HTML 404 in the viewer’s language, not the JSON one', async () => {
    for (const path of ['/ops/console/nothing-here', '/console/nothing-here', '/console/users/x/y']) {
      const ja = await browse('GET', path, { cookie })
      expect(ja.status, path).toBe(404)
      expect(ja.headers.get('Content-Type')).toMatch(/^text\/html/)
      expect(ja.text).toContain('ページが見つかりません。')
      const en = await browse('GET', path, { headers: { 'Accept-Language': 'en-GB,en;q=0.8' } })
      expect(en.status).toBe(404)
      expect(en.text).toContain('<html lang="en">')
      expect(en.text).toContain('Page not found.')
    }
    const api = await call('GET', '/api/v1/nothing-here')
    expect(api.status).toBe(404)
    expect(api.headers.get('Content-Type')).toBe('application/problem+json')
  })

  it('walks an invited operator from the temporary password to a new one before any other page', async () => {
    const email = `invited-${crypto.randomUUID().slice(0, 8)}@mamori.test`
    const invited = await call('POST', '/ops/v1/operators', { token: await operator(), body: { email, name: 'Invited' } })
    expect(invited.status).toBe(201)
    const first = await browse('POST', '/ops/console/sign-in', { form: { email, password: invited.body.temporary_password } })
    const done = await browse('POST', '/ops/console/sign-in/mfa', { form: { challenge: hidden(first.text, 'challenge'), code: await lastCode(email) } })
    expect(done.status).toBe(303)
    expect(done.headers.get('Location')).toBe('/ops/console/password')
    const limited = cookieOf(done, OPS_COOKIE)
    // Every other page sends it back to the password form.
    const tenants = await browse('GET', '/ops/console', { cookie: limited })
    expect(tenants.status).toBe(303)
    expect(tenants.headers.get('Location')).toBe('/ops/console/password')
    const form = await browse('GET', '/ops/console/password', { cookie: limited })
    expect(form.status).toBe(200)
    expect(form.text).toContain('パスワードが仮のものか有効期限切れです。')
    const password = `Quiet-Harbour-${crypto.randomUUID().slice(0, 8)}-Lamp`
    const changed = await browse('POST', '/ops/console/password', { cookie: limited, form: { _csrf: hidden(form.text, '_csrf'), current_password: invited.body.temporary_password, new_password: password } })
    expect(changed.status).toBe(303)
    expect(changed.headers.get('Location')).toBe('/ops/console?done=password')
    const full = cookieOf(changed, OPS_COOKIE)
    expect(full).not.toBe(limited)
    expect((await browse('GET', '/ops/console', { cookie: full })).status).toBe(200)
    expect((await browse('GET', '/ops/console', { cookie: limited })).status).toBe(303)
  })

  it('signs out: the session ends and the cookie is cleared', async () => {
    const own = await opsSignIn()
    const token = hidden((await browse('GET', '/ops/console', { cookie: own })).text, '_csrf')
    const out = await browse('POST', '/ops/console/sign-out', { cookie: own, form: { _csrf: token } })
    expect(out.status).toBe(303)
    expect(out.headers.get('Set-Cookie')).toMatch(/__Host-mamori_ops=;/)
    expect((await browse('GET', '/ops/console', { cookie: own })).status).toBe(303)
  })

  it('reads a tenant’s records and files only while it grants support access, each read (and each refusal) audited as support.read', async () => {
    const tenant = await tenantWithAdmin()
    const record = await call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection: 'tickets', data: { subject: 'Printer on fire' } } })
    expect(record.status).toBe(201)
    const upload = await call('PUT', '/api/v1/files/manual.txt', { token: tenant.adminToken, raw: 'read me', headers: { 'Content-Type': 'text/plain' } })
    expect(upload.status).toBe(201)
    const base = `/ops/console/tenants/${tenant.id}`
    const reads = (outcome: string) => count("SELECT count(*) AS n FROM audit_events WHERE tenant_id = ? AND action = 'support.read' AND outcome = ?", tenant.id, outcome)
    // Without a grant: the detail page offers no links, and the pages are the API's refusal, as a page.
    const before = await browse('GET', base, { cookie })
    expect(before.text).toContain('data-testid="support-none"')
    expect(before.text).not.toContain(`href="${base}/records"`)
    for (const what of ['records', 'files']) {
      const refused = await browse('GET', `${base}/${what}`, { cookie })
      expect(refused.status).toBe(403)
      expect(refused.headers.get('Cache-Control')).toBe('no-store')
      expect(refused.text).toContain('このテナントはサポート閲覧を許可していません。テナント管理者が期限付きで許可できます。')
      expect(refused.text).not.toContain('Printer on fire')
      expect(refused.text).not.toContain('manual.txt')
    }
    expect(await reads('denied')).toBe(2)
    expect(await reads('success')).toBe(0)
    // The tenant admin grants support access for an hour.
    expect((await call('POST', '/api/v1/support-access', { token: tenant.adminToken, body: { hours: 1 } })).status).toBe(200)
    const after = await browse('GET', base, { cookie })
    expect(after.text).toContain('data-testid="support-granted"')
    expect(after.text).toContain(`href="${base}/records"`)
    expect(after.text).toContain(`href="${base}/files"`)
    const records = await browse('GET', `${base}/records`, { cookie })
    expect(records.status).toBe(200)
    expect(records.text).toContain(record.body.id)
    expect(records.text).toContain('tickets')
    expect(records.text).toContain('Printer on fire')
    expect(records.text).not.toMatch(/<style|style="|<script/)
    const files = await browse('GET', `${base}/files`, { cookie })
    expect(files.status).toBe(200)
    expect(files.text).toContain('manual.txt')
    expect(files.text).toContain(upload.body.sha256)
    expect(await reads('success')).toBe(2)
    const events = await env.DB.prepare("SELECT actor_type, details FROM audit_events WHERE tenant_id = ? AND action = 'support.read' AND outcome = 'success' ORDER BY seq").bind(tenant.id).all<{ actor_type: string; details: string }>()
    expect(events.results.map((e) => [e.actor_type, JSON.parse(e.details).what])).toEqual([['operator', 'records'], ['operator', 'files']])
    // An unknown tenant is a 404 page, before any read is recorded.
    expect((await browse('GET', '/ops/console/tenants/ten_nonexistent/records', { cookie })).status).toBe(404)
    expect(await reads('success')).toBe(2)
    // Revoked, the refusal is back.
    expect((await call('DELETE', '/api/v1/support-access', { token: tenant.adminToken })).status).toBe(204)
    expect((await browse('GET', `${base}/records`, { cookie })).status).toBe(403)
  })

  it('lists the plans and their limits, read only, linked from the menu', async () => {
    const page = await browse('GET', '/ops/console/plans', { cookie })
    expect(page.status).toBe(200)
    expect(page.headers.get('Cache-Control')).toBe('no-store')
    const ids = [...page.text.matchAll(/data-testid="plan-id">([a-z]+)</g)].map((m) => m[1])
    expect(ids).toEqual(['free', 'standard', 'enterprise'])
    const api = (await call('GET', '/ops/v1/plans', { token: await operator() })).body.items
    for (const plan of api) expect(page.text).toContain(plan.requests_per_month.toLocaleString('en-US'))
    expect(page.text).not.toMatch(/<style|style="|<script/)
    expect(page.text).not.toContain('<form method="post"')
    expect((await browse('GET', '/ops/console', { cookie })).text).toContain('href="/ops/console/plans"')
    // Signed out, it is the sign-in page.
    const anonymous = await browse('GET', '/ops/console/plans')
    expect(anonymous.status).toBe(303)
    expect(anonymous.headers.get('Location')).toBe('/ops/console/sign-in')
  })

  it('invites an operator with the temporary password shown once, disables (ending their sessions) and enables them again', async () => {
    const email = `console-op-${crypto.randomUUID().slice(0, 8)}@mamori.test`
    const bad = await post('/ops/console/operators', { email: 'not-an-address', name: 'X', language: 'en' })
    expect(bad.status).toBe(422)
    expect(bad.text).toContain('class="flash error"')
    expect(await count('SELECT count(*) AS n FROM operators WHERE email = ?', 'not-an-address')).toBe(0)
    const page = await post('/ops/console/operators', { email, name: 'Console Invitee', language: 'en' })
    expect(page.status).toBe(201)
    expect(page.headers.get('Cache-Control')).toBe('no-store')
    const temporary = /data-testid="temporary-password">([^<]+)</.exec(page.text)?.[1]
    expect(temporary).toBeDefined()
    const row = await env.DB.prepare('SELECT id, name, status, language FROM operators WHERE email = ?').bind(email).first<{ id: string; name: string; status: string; language: string }>()
    expect(row).toMatchObject({ name: 'Console Invitee', status: 'active', language: 'en' })
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'operator.create' AND target_id = ?", row!.id)).toBe(1)
    expect(await count('SELECT count(*) AS n FROM audit_events WHERE details LIKE ?', `%${temporary}%`)).toBe(0)
    // The list shows them, never the password; a second invitation of the address is the API's 409.
    const list = await browse('GET', '/ops/console/operators', { cookie })
    expect(list.status).toBe(200)
    expect(list.text).toContain(email)
    expect(list.text).not.toContain(temporary!)
    expect(list.text).toContain(`action="/ops/console/operators/${row!.id}/status"`)
    expect((await post('/ops/console/operators', { email, name: 'Again', language: 'ja' })).status).toBe(409)
    // The invitee signs in (a password-change-only session), then is disabled: the session ends.
    const first = await call('POST', '/ops/v1/auth/login', { body: { email, password: temporary } })
    const session = await call('POST', '/ops/v1/auth/mfa', { body: { challenge: first.body.challenge, code: await lastCode(email) } })
    expect(session.body.token).toEqual(expect.any(String))
    expect((await call('GET', '/ops/v1/operators', { token: session.body.token })).status).toBe(403)
    const disabled = await post(`/ops/console/operators/${row!.id}/status`, { status: 'disabled' })
    expect(disabled.status).toBe(303)
    expect(disabled.headers.get('Location')).toBe('/ops/console/operators?done=disabled')
    expect((await env.DB.prepare('SELECT status FROM operators WHERE id = ?').bind(row!.id).first())!.status).toBe('disabled')
    expect((await call('GET', '/ops/v1/operators', { token: session.body.token })).status).toBe(401)
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'operator.update' AND target_id = ?", row!.id)).toBe(1)
    // A status the API does not know is its 422, and changes nothing; then enabled again.
    expect((await post(`/ops/console/operators/${row!.id}/status`, { status: 'deleted' })).status).toBe(422)
    expect((await post(`/ops/console/operators/${row!.id}/status`, { status: 'active' })).status).toBe(303)
    expect((await env.DB.prepare('SELECT status FROM operators WHERE id = ?').bind(row!.id).first())!.status).toBe('active')
    // One's own account offers no button, and the service refuses it anyway (409).
    const self = await env.DB.prepare('SELECT id FROM operators WHERE email = ?').bind(OPERATOR.email).first<{ id: string }>()
    expect(list.text).not.toContain(`action="/ops/console/operators/${self!.id}/status"`)
    expect((await post(`/ops/console/operators/${self!.id}/status`, { status: 'disabled' })).status).toBe(409)
    expect((await env.DB.prepare('SELECT status FROM operators WHERE id = ?').bind(self!.id).first())!.status).toBe('active')
    // Without the CSRF token nothing changes.
    const forged = await browse('POST', `/ops/console/operators/${row!.id}/status`, { cookie, form: { status: 'disabled' } })
    expect(forged.status).toBe(403)
    expect((await env.DB.prepare('SELECT status FROM operators WHERE id = ?').bind(row!.id).first())!.status).toBe('active')
    expect((await browse('GET', '/ops/console', { cookie })).text).toContain('href="/ops/console/operators"')
  })

  it('unlocks an operator whose second step is locked, audited, and refuses a forged post', async () => {
    const email = `locked-${crypto.randomUUID().slice(0, 8)}@ops.example`
    const invited = await call('POST', '/ops/v1/operators', { token: await operator(), body: { email, name: 'Locked' } })
    expect(invited.status).toBe(201)
    const ip = freshIp()
    const start = () => call('POST', '/ops/v1/auth/login', { body: { email, password: invited.body.temporary_password }, headers: from(ip) })
    for (const tries of [5, 5]) {
      const login = await start()
      expect(login.body.status).toBe('mfa_required')
      for (let i = 0; i < tries; i++) {
        expect((await call('POST', '/ops/v1/auth/mfa', { body: { challenge: login.body.challenge, code: '000000' }, headers: from(ip) })).status).toBe(401)
      }
    }
    expect((await start()).status).toBe(429)
    const list = await browse('GET', '/ops/console/operators', { cookie })
    expect(list.text).toContain(`action="/ops/console/operators/${invited.body.id}/unlock"`)
    // Without the CSRF token nothing is unlocked.
    expect((await browse('POST', `/ops/console/operators/${invited.body.id}/unlock`, { cookie, form: {} })).status).toBe(403)
    expect((await start()).status).toBe(429)
    const unlocked = await post(`/ops/console/operators/${invited.body.id}/unlock`, {})
    expect(unlocked.status).toBe(303)
    expect(unlocked.headers.get('Location')).toBe('/ops/console/operators?done=unlocked')
    expect((await browse('GET', '/ops/console/operators?done=unlocked', { cookie })).text).toContain('ロックを解除しました。')
    // An unknown note is no note (and an inherited name is not one either).
    for (const done of ['toString', '__proto__', 'x']) expect((await browse('GET', `/ops/console/operators?done=${done}`, { cookie })).status).toBe(200)
    const event = await env.DB.prepare("SELECT details FROM audit_events WHERE action = 'operator.unlock' AND target_id = ?").bind(invited.body.id).first<{ details: string }>()
    expect(JSON.parse(event!.details)).toEqual({ email, unlocked: ['mfa'] })
    expect((await start()).body.status).toBe('mfa_required')
    expect((await post('/ops/console/operators/op_00000000000000000000000000/unlock', {})).status).toBe(404)
  })

  it('runs the master-key rotation a batch at a time, showing counts only, audited', async () => {
    const page = await browse('GET', '/ops/console/keys', { cookie })
    expect(page.status).toBe(200)
    expect(page.text).toContain('action="/ops/console/keys/rotate"')
    expect((await browse('GET', '/ops/console', { cookie })).text).toContain('href="/ops/console/keys"')
    const before = await count("SELECT count(*) AS n FROM audit_events WHERE action = 'keys.rotated'")
    expect((await browse('POST', '/ops/console/keys/rotate', { cookie, form: {} })).status).toBe(403)
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'keys.rotated'")).toBe(before)
    const ran = await post('/ops/console/keys/rotate', {})
    expect(ran.status).toBe(200)
    expect(ran.text).toContain('data-testid="rotation-result"')
    expect(ran.text).toContain('すべての鍵が現在のマスター鍵で包まれています。')
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'keys.rotated'")).toBe(before + 1)
    // Counts, never key material: no wrapped key of the table appears on the page.
    const wrapped = (await env.DB.prepare('SELECT wrapped FROM tenant_keys WHERE wrapped IS NOT NULL LIMIT 5').all<{ wrapped: string }>()).results
    for (const row of wrapped) expect(ran.text).not.toContain(row.wrapped)
  })

  describe('maintenance flag, backups and termination', () => {
    it('turns global maintenance on through the form: the tenant console answers the maintenance page, the operator console keeps working; off again, the tenant page works', async () => {
      const tenant = await tenantWithAdmin()
      const tenantCookie = `__Host-mamori_console=${tenant.adminToken}`
      expect((await browse('GET', '/console', { cookie: tenantCookie })).status).toBe(200)
      // An end in the past is the API's 422, and nothing is switched on.
      const past = await post('/ops/console/maintenance', { scope: 'global', enabled: 'true', message: 'x', until: jstLocal(-3_600_000) })
      expect(past.status).toBe(422)
      expect(past.text).toContain('class="flash error"')
      expect((await browse('GET', '/console', { cookie: tenantCookie })).status).toBe(200)
      try {
        const on = await post('/ops/console/maintenance', { scope: 'global', enabled: 'true', message: 'Database upgrade <b>tonight</b>', until: jstLocal(3_600_000) })
        expect(on.status).toBe(303)
        expect(on.headers.get('Location')).toBe('/ops/console/maintenance?done=on')
        for (const path of ['/console', '/console/users', '/console/sign-in']) {
          const page = await browse('GET', path, { cookie: tenantCookie })
          expect(page.status, path).toBe(503)
          expect(page.headers.get('Content-Type')).toMatch(/^text\/html/)
          expect(Number(page.headers.get('Retry-After'))).toBeGreaterThan(3000)
          expect(page.text).toContain('メンテナンス中')
          expect(page.text).toContain('Database upgrade &lt;b&gt;tonight&lt;/b&gt;')
          expect(page.text).toMatch(/終了予定: \d{4}-\d{2}-\d{2} \d{2}:\d{2} JST/)
          expect(page.text).not.toMatch(/<style|style="|<script/)
        }
        // The sign-in form itself is refused before any password is looked at.
        const signIn = await browse('POST', '/console/sign-in', { form: { tenant: tenant.slug, email: tenant.adminEmail, password: tenant.adminPassword } })
        expect(signIn.status).toBe(503)
        // The API says the same; the stylesheet and the operator console keep working.
        expect((await call('GET', '/api/v1/me', { token: tenant.adminToken })).status).toBe(503)
        const overview = await browse('GET', '/ops/console/maintenance', { cookie })
        expect(overview.status).toBe(200)
        expect(overview.text).toContain('data-testid="flag-global"><span class="status not_met">適用中')
        expect((await browse('GET', '/ops/console', { cookie })).status).toBe(200)
        expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'maintenance.flag_changed' AND target_id = 'global' AND details LIKE '%Database upgrade%'")).toBe(1)
      } finally {
        const off = await post('/ops/console/maintenance', { scope: 'global', enabled: 'false' })
        expect(off.status).toBe(303)
        expect(off.headers.get('Location')).toBe('/ops/console/maintenance?done=off')
      }
      expect((await browse('GET', '/console', { cookie: tenantCookie })).status).toBe(200)
    })

    it('turns one tenant’s maintenance on and off from its page: only that tenant sees the maintenance page, in its viewer’s language', async () => {
      const tenant = await tenantWithAdmin()
      const other = await tenantWithAdmin()
      const base = `/ops/console/tenants/${tenant.id}`
      // The admin reads English by its own setting, whatever the browser asks for.
      expect((await call('PATCH', '/api/v1/me', { token: tenant.adminToken, body: { language: 'en' } })).status).toBe(200)
      const on = await post('/ops/console/maintenance', { scope: 'tenant', tenant_id: tenant.id, enabled: 'true', message: 'Moving your data', until: '', back: base })
      expect(on.status).toBe(303)
      expect(on.headers.get('Location')).toBe(`${base}?done=maintenance-on`)
      const refused = await browse('GET', '/console', { cookie: `__Host-mamori_console=${tenant.adminToken}`, headers: { 'Accept-Language': 'ja' } })
      expect(refused.status).toBe(503)
      expect(refused.headers.get('Retry-After')).toBe('300')
      expect(refused.text).toContain('<html lang="en">')
      expect(refused.text).toContain('Moving your data')
      expect(refused.text).toContain('No end time has been announced yet.')
      expect(refused.headers.get('Set-Cookie')).toMatch(/__Host-mamori_lang=en;/)
      // Sign-in is refused once the password is proven, in the language this browser remembers.
      const signIn = await browse('POST', '/console/sign-in', { form: { tenant: tenant.slug, email: tenant.adminEmail, password: tenant.adminPassword }, headers: { Cookie: '__Host-mamori_lang=en' } })
      expect(signIn.status).toBe(503)
      expect(signIn.text).toContain('Under maintenance')
      expect(signIn.text).toContain('Moving your data')
      expect((await browse('GET', '/console', { cookie: `__Host-mamori_console=${other.adminToken}` })).status).toBe(200)
      const detail = await browse('GET', base, { cookie })
      expect(detail.text).toContain('Moving your data')
      // An unknown tenant is the API's 404, shown on the form.
      expect((await post('/ops/console/maintenance', { scope: 'tenant', tenant_id: 'tn_00000000000000000000000000', enabled: 'true' })).status).toBe(404)
      const off = await post('/ops/console/maintenance', { scope: 'tenant', tenant_id: tenant.id, enabled: 'false', back: base })
      expect(off.headers.get('Location')).toBe(`${base}?done=maintenance-off`)
      expect((await browse('GET', '/console', { cookie: `__Host-mamori_console=${tenant.adminToken}` })).status).toBe(200)
      expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'maintenance.flag_changed' AND target_id = ?", tenant.id)).toBe(2)
    })

    it('runs a tenant’s backup, verifies it and restores it in place through the forms, refusing a restore whose confirmation does not match', async () => {
      const tenant = await tenantWithAdmin()
      const token = tenant.adminToken
      expect((await call('POST', '/api/v1/records', { token, body: { collection: 'notes', data: { n: 1 } } })).status).toBe(201)
      const run = await post('/ops/console/backups/run', { tenant_id: tenant.id })
      expect(run.status).toBe(202)
      expect(run.text).toContain('バックアップを開始しました')
      await settled(snapshotInstanceId(tenant.id, jstDate()))
      const backup = (await env.DB.prepare("SELECT id FROM backups WHERE tenant_id = ? AND status = 'complete'").bind(tenant.id).first<{ id: string }>())!
      const list = await browse('GET', `/ops/console/backups?tenant_id=${tenant.id}`, { cookie })
      expect(list.status).toBe(200)
      expect(list.text).toContain(backup.id)
      expect(list.text).toContain('完了')
      expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'backup.requested'")).toBeGreaterThan(0)
      // Verify: the result on the page, on the row and in the tenant's trail.
      const verifications = await count("SELECT count(*) AS n FROM audit_events WHERE action = 'backup.verified' AND target_id = ?", backup.id)
      await env.DB.prepare('UPDATE backups SET verified_at = NULL, verify_result = NULL WHERE id = ?').bind(backup.id).run()
      expect((await browse('GET', `/ops/console/backups?tenant_id=${tenant.id}`, { cookie })).text).toContain('未検証')
      const verified = await post(`/ops/console/backups/${backup.id}/verify`, {})
      expect(verified.status).toBe(200)
      expect(verified.text).toContain(`バックアップ ${backup.id} を検証しました: 正常です。`)
      expect(await env.DB.prepare('SELECT verify_result FROM backups WHERE id = ?').bind(backup.id).first()).toEqual({ verify_result: 'ok' })
      expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'backup.verified' AND target_id = ?", backup.id)).toBe(verifications + 1)
      // A record written after the backup: the restore in place takes it away.
      expect((await call('POST', '/api/v1/records', { token, body: { collection: 'notes', data: { n: 2 } } })).status).toBe(201)
      const choose = await browse('GET', `/ops/console/backups/${backup.id}/restore`, { cookie })
      expect(choose.status).toBe(200)
      const confirm = await browse('GET', `/ops/console/backups/${backup.id}/restore/confirm`, { cookie })
      expect(confirm.status).toBe(200)
      expect(confirm.text).toContain(`テナント ${tenant.slug} をバックアップ ${backup.id}`)
      expect(confirm.text).toContain('name="confirm"')
      for (const typed of ['', 'bk_wrong', tenant.slug]) {
        const wrong = await post(`/ops/console/backups/${backup.id}/restore`, { confirm: typed })
        expect(wrong.status).toBe(422)
        expect(wrong.text).toContain('確認の入力が一致しないため、復元しませんでした。')
      }
      // A new slug must be typed twice.
      const newSlug = uniqueSlug('copy')
      expect((await post(`/ops/console/backups/${backup.id}/restore`, { confirm: backup.id, target_slug: newSlug, confirm_target: 'other' })).status).toBe(422)
      expect(await count('SELECT count(*) AS n FROM tenants WHERE slug = ?', newSlug)).toBe(0)
      expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'backup.restored'")).toBe(0)
      expect(await count('SELECT count(*) AS n FROM records WHERE tenant_id = ?', tenant.id)).toBe(2)
      const restored = await post(`/ops/console/backups/${backup.id}/restore`, { confirm: backup.id })
      expect(restored.status).toBe(200)
      expect(restored.text).toContain(`復元しました（その場で）: テナント ${tenant.slug}`)
      expect(await count('SELECT count(*) AS n FROM records WHERE tenant_id = ?', tenant.id)).toBe(1)
      expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'backup.restored' AND target_id = ?", backup.id)).toBe(1)
      // A generation that is not there is a 404 page.
      expect((await browse('GET', '/ops/console/backups/bk_00000000000000000000000000/restore', { cookie })).status).toBe(404)
    })

    it('terminates a tenant only when its slug is typed, then shows the erasure certificate', async () => {
      const tenant = await tenantWithAdmin()
      const base = `/ops/console/tenants/${tenant.id}`
      expect((await browse('GET', base, { cookie })).text).toContain(`href="${base}/terminate"`)
      const confirm = await browse('GET', `${base}/terminate`, { cookie })
      expect(confirm.status).toBe(200)
      expect(confirm.text).toContain('name="confirm_slug"')
      for (const typed of ['', `${tenant.slug}x`, tenant.id]) {
        const wrong = await post(`${base}/terminate`, { confirm_slug: typed })
        expect(wrong.status).toBe(422)
        expect(wrong.text).toContain('入力されたテナント ID が一致しないため、何も消去しませんでした。')
      }
      expect(await count('SELECT count(*) AS n FROM tenants WHERE id = ?', tenant.id)).toBe(1)
      expect(await count("SELECT count(*) AS n FROM tenants WHERE id = ? AND status = 'active'", tenant.id)).toBe(1)
      expect(await count('SELECT count(*) AS n FROM tenant_erasures WHERE tenant_id = ?', tenant.id)).toBe(0)
      expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'tenant.terminate' AND target_id = ?", tenant.id)).toBe(0)
      const done = await post(`${base}/terminate`, { confirm_slug: tenant.slug })
      expect(done.status).toBe(303)
      expect(done.headers.get('Location')).toBe(`${base}/certificate`)
      expect(await count('SELECT count(*) AS n FROM tenants WHERE id = ?', tenant.id)).toBe(0)
      expect(await count('SELECT count(*) AS n FROM users WHERE tenant_id = ?', tenant.id)).toBe(0)
      expect(await count("SELECT count(*) AS n FROM audit_events WHERE action = 'tenant.terminate' AND target_id = ?", tenant.id)).toBe(1)
      const page = await browse('GET', `${base}/certificate`, { cookie })
      expect(page.status).toBe(200)
      const jws = /data-testid="certificate">([^<]+)</.exec(page.text)![1]!
      expect(jws.split('.')).toHaveLength(3)
      const stored = await env.DB.prepare('SELECT certificate FROM tenant_erasures WHERE tenant_id = ?').bind(tenant.id).first<{ certificate: string }>()
      expect(jws).toBe(stored!.certificate)
      expect(page.text).toContain('href="/.well-known/jwks.json"')
      expect(page.text).toContain(tenant.slug)
      expect(page.text).toMatch(/data-testid="erased-at"><time datetime="[^"]+">\d{4}-\d{2}-\d{2} \d{2}:\d{2} JST/)
      expect(page.text).toMatch(/data-testid="final-audit-head">seq \d+ · [0-9a-f]{64}/)
      expect(page.text).toContain('30 日間保持します')
      expect(page.text).toContain('<td><span class="mono">users</span></td>')
      // The tenant's page now leads to its certificate; the certificate of a tenant never terminated is a 404 page.
      const gone = await browse('GET', base, { cookie })
      expect(gone.status).toBe(303)
      expect(gone.headers.get('Location')).toBe(`${base}/certificate`)
      expect((await browse('GET', `${base}/terminate`, { cookie })).status).toBe(303)
      expect((await browse('GET', `/ops/console/tenants/${(await tenantWithAdmin()).id}/certificate`, { cookie })).status).toBe(404)
    })
  })

})
