import { env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { browse, cookieOf, hidden } from './console-browse'
import * as OTPAuth from 'otpauth'
import { call, lastCode, lastMail, operator, snapshotCounts, tenantWithAdmin, userOf, type TestTenant } from './helpers'
import { jstDate } from '../src/lib/time'
import { snapshotInstanceId } from '../src/services/backup/fan-out'

/** Signs in through the forms, with the mailed code when the account gets one. */
async function consoleSignIn(slug: string, email: string, password: string): Promise<{ cookie: string; setCookie: string }> {
  const first = await browse('POST', '/console/sign-in', { form: { tenant: slug, email, password } })
  let last = first
  if (first.status === 200) {
    expect(first.text).toContain('name="challenge"')
    last = await browse('POST', '/console/sign-in/mfa', { form: { challenge: hidden(first.text, 'challenge'), code: await lastCode(email) } })
  }
  expect(last.status).toBe(303)
  expect(last.headers.get('Location')).toBe('/console')
  return { cookie: cookieOf(last), setCookie: last.headers.get('Set-Cookie')! }
}

describe('tenant console', () => {
  let tenant: TestTenant
  let admin: { cookie: string; setCookie: string }

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    // The admin signs in with a mailed code from now on.
    expect((await call('PUT', '/api/v1/policy', { token: tenant.adminToken, body: { mfa_required: { admin: true } } })).status).toBe(200)
    admin = await consoleSignIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
  })

  it('signs in through the forms with the mailed code, into a __Host- cookie that is HttpOnly, Secure and SameSite=Strict', async () => {
    const attributes = admin.setCookie.split(';').map((a) => a.trim().toLowerCase())
    expect(admin.setCookie).toMatch(/^__Host-mamori_console=[^;]+;/)
    expect(attributes).toEqual(expect.arrayContaining(['path=/', 'httponly', 'secure', 'samesite=strict']))
    expect(attributes.some((a) => a.startsWith('domain='))).toBe(false)
    const dashboard = await browse('GET', '/console', { cookie: admin.cookie })
    expect(dashboard.status).toBe(200)
    expect(dashboard.headers.get('Content-Type')).toMatch(/^text\/html/)
    expect(dashboard.headers.get('Cache-Control')).toBe('no-store')
    expect(dashboard.text).toContain(tenant.adminEmail)
  })

  it('refuses a wrong password with one message and no cookie', async () => {
    const page = await browse('POST', '/console/sign-in', { form: { tenant: tenant.slug, email: tenant.adminEmail, password: 'wrong-password-123456' } })
    expect(page.status).toBe(401)
    expect(page.headers.get('Set-Cookie')).toBeNull()
    expect(page.text).toContain('テナント ID、メールアドレスまたはパスワードが正しくありません。')
  })

  it('sends a page without a session back to sign-in', async () => {
    const page = await browse('GET', '/console/users')
    expect(page.status).toBe(303)
    expect(page.headers.get('Location')).toBe('/console/sign-in')
  })

  it('does not accept the console cookie on /api/v1, only the bearer token', async () => {
    const token = admin.cookie.split('=')[1]!
    const viaCookie = await call('GET', '/api/v1/me', { headers: { Cookie: admin.cookie } })
    expect(viaCookie.status).toBe(401)
    expect(viaCookie.body.type).toBe('unauthenticated')
    const viaBearer = await call('GET', '/api/v1/me', { token })
    expect(viaBearer.status).toBe(200)
    expect(viaBearer.body.user.email).toBe(tenant.adminEmail)
  })

  it('sends a CSP without unsafe-inline and the usual security headers, and a long-cached stylesheet', async () => {
    const page = await browse('GET', '/console/sign-in')
    const csp = page.headers.get('Content-Security-Policy')!
    expect(csp).toContain("default-src 'none'")
    expect(csp).toContain("style-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(page.headers.get('X-Frame-Options')).toBe('DENY')
    expect(page.headers.get('Strict-Transport-Security')).toMatch(/max-age=\d+/)
    const href = /<link rel="stylesheet" href="([^"]+)"/.exec(page.text)![1]!
    const css = await browse('GET', href)
    expect(css.status).toBe(200)
    expect(css.headers.get('Content-Type')).toBe('text/css; charset=utf-8')
    expect(css.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable')
    expect(page.text).not.toMatch(/<style|style="|<script/)
  })

  it('refuses a form without the CSRF token, with a wrong one, or from another site, and changes nothing', async () => {
    const users = await browse('GET', '/console/users', { cookie: admin.cookie })
    const csrf = hidden(users.text, '_csrf')
    const form = { email: 'csrf-victim@example.com', name: 'Victim', role: 'admin' }
    const before = await snapshotCounts()
    const attempts = [
      await browse('POST', '/console/users', { cookie: admin.cookie, form }),
      await browse('POST', '/console/users', { cookie: admin.cookie, form: { ...form, _csrf: `${csrf.slice(0, -2)}AA` } }),
      await browse('POST', '/console/users', { cookie: admin.cookie, form: { ...form, _csrf: csrf }, headers: { Origin: 'https://evil.example' } }),
      await browse('POST', '/console/users', { cookie: admin.cookie, form: { ...form, _csrf: csrf }, headers: { 'Sec-Fetch-Site': 'cross-site' } }),
      await browse('POST', '/console/users', { cookie: admin.cookie, form: { ...form, _csrf: csrf }, headers: { Origin: 'null' } }),
      await browse('POST', '/console/users', { cookie: admin.cookie, form: { ...form, _csrf: csrf }, headers: { Origin: 'null', 'Sec-Fetch-Site': 'same-site' } }),
    ]
    for (const page of attempts) {
      expect(page.status).toBe(403)
      expect(page.headers.get('Content-Type')).toMatch(/^text\/html/)
      expect(page.text).toContain('別のサイトから送信された')
    }
    expect(await snapshotCounts()).toEqual(before)
    const stored = await env.DB.prepare('SELECT count(*) AS n FROM users WHERE email = ?').bind('csrf-victim@example.com').first<{ n: number }>()
    expect(stored!.n).toBe(0)
  })

  it('creates a user through the form, showing the temporary password once', async () => {
    const csrf = hidden((await browse('GET', '/console/users', { cookie: admin.cookie })).text, '_csrf')
    // As Chromium sends it under our no-referrer policy: `Origin: null`, `Sec-Fetch-Site: same-origin`.
    const page = await browse('POST', '/console/users', {
      cookie: admin.cookie,
      headers: { Origin: 'null', 'Sec-Fetch-Site': 'same-origin' },
      form: { _csrf: csrf, email: 'new.member@example.com', name: 'New Member', role: 'member', permissions: ['records:read', 'download'] },
    })
    expect(page.status).toBe(201)
    expect(page.headers.get('Cache-Control')).toBe('no-store')
    const temporary = /data-testid="temporary-password">([^<]+)</.exec(page.text)?.[1]
    expect(temporary).toBeDefined()
    const row = await env.DB.prepare('SELECT role, permissions, must_change_password FROM users WHERE tenant_id = ? AND email = ?')
      .bind(tenant.id, 'new.member@example.com')
      .first<{ role: string; permissions: string; must_change_password: number }>()
    expect(row).toEqual({ role: 'member', permissions: JSON.stringify(['download', 'records:read']), must_change_password: 1 })
    // The same rule as the API: that temporary password signs in to a password change only.
    const login = await call('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email: 'new.member@example.com', password: temporary } })
    expect(login.body.status).toBe('password_change_required')
    // Shown once: the list page never shows it again.
    expect((await browse('GET', '/console/users', { cookie: admin.cookie })).text).not.toContain(temporary!)
  })

  it('answers a duplicate e-mail on the form page, as the API does with 409', async () => {
    const csrf = hidden((await browse('GET', '/console/users', { cookie: admin.cookie })).text, '_csrf')
    const page = await browse('POST', '/console/users', { cookie: admin.cookie, form: { _csrf: csrf, email: tenant.adminEmail, name: 'Dup', role: 'member' } })
    expect(page.status).toBe(409)
    expect(page.text).toContain('class="flash error"')
  })

  it('filters the audit log and exports the filtered CSV as a sandboxed attachment', async () => {
    const page = await browse('GET', `/console/audit?actor=${tenant.adminId}&category=administration`, { cookie: admin.cookie })
    expect(page.status).toBe(200)
    expect(page.text).toContain('user.create')
    expect(page.text).not.toContain('auth.login')
    const exported = await browse('GET', `/console/audit/export?actor=${tenant.adminId}&category=administration`, { cookie: admin.cookie })
    expect(exported.status).toBe(200)
    expect(exported.headers.get('Content-Disposition')).toMatch(/^attachment; filename="audit-/)
    expect(exported.headers.get('Content-Security-Policy')).toBe('sandbox')
    expect(exported.text).toContain('user.create')
    const bad = await browse('GET', '/console/audit?since=2026-02-01&until=2026-01-01', { cookie: admin.cookie })
    expect(bad.status).toBe(422)
  })

  it('downloads the ledger CSV, recorded as an extraction', async () => {
    const csv = await browse('GET', '/console/ledger.csv', { cookie: admin.cookie })
    expect(csv.status).toBe(200)
    expect(csv.headers.get('Content-Type')).toBe('text/csv; charset=utf-8')
    expect(csv.headers.get('Content-Security-Policy')).toBe('sandbox')
    expect(csv.text).toContain(tenant.adminEmail)
    const audit = await call('GET', '/api/v1/audit?action=ledger.export', { token: tenant.adminToken })
    expect(audit.body.items.length).toBeGreaterThan(0)
  })

  it('keeps a member out of the admin pages with a 403 page', async () => {
    const member = await userOf(tenant, 'member')
    const { cookie } = await consoleSignIn(tenant.slug, member.email, member.password)
    for (const path of ['/console/users', '/console/ledger', '/console/ledger.csv', '/console/audit', '/console/policy', '/console/sla', '/console/support']) {
      const page = await browse('GET', path, { cookie })
      expect(page.status, path).toBe(403)
      expect(page.headers.get('Content-Type')).toMatch(/^text\/html/)
      expect(page.text).toContain('このページを表示する権限がありません。')
    }
    expect((await browse('GET', '/console', { cookie })).status).toBe(200)
  })

  it('signs out: the session ends and the cookie is cleared', async () => {
    const session = await consoleSignIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)
    const csrf = hidden((await browse('GET', '/console', { cookie: session.cookie })).text, '_csrf')
    const out = await browse('POST', '/console/sign-out', { cookie: session.cookie, form: { _csrf: csrf } })
    expect(out.status).toBe(303)
    expect(out.headers.get('Set-Cookie')).toMatch(/__Host-mamori_console=;/)
    expect((await browse('GET', '/console', { cookie: session.cookie })).status).toBe(303)
  })
})

describe('/help', () => {
  it('is Japanese by default and English when asked, with the rules in force', async () => {
    const ja = await browse('GET', '/help')
    expect(ja.status).toBe(200)
    expect(ja.text).toContain('<html lang="ja">')
    expect(ja.text).toContain('平日 10:00–18:00')
    expect(ja.text).toContain('8 文字以上')
    const en = await browse('GET', '/help', { headers: { 'Accept-Language': 'en-US,en;q=0.9' } })
    expect(en.text).toContain('<html lang="en">')
    expect(en.text).toContain('weekdays 10:00–18:00 Japan time')
    expect(en.text).toContain('at least 8 characters')
    expect(en.text).toContain('TOTP')
    expect((await browse('GET', '/help?lang=en')).text).toContain('<html lang="en">')
  })
})

describe('tenant console: policy, second factor, records, files, SLA, support access', () => {
  let tenant: TestTenant
  let admin: string
  let csrf: string

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    admin = (await consoleSignIn(tenant.slug, tenant.adminEmail, tenant.adminPassword)).cookie
    csrf = hidden((await browse('GET', '/console', { cookie: admin })).text, '_csrf')
  })

  const post = (path: string, form: Record<string, string | string[]>, cookie = admin, token = csrf) => browse('POST', path, { cookie, form: { _csrf: token, ...form } })

  /** The policy form as the page fills it in, with some fields changed. */
  async function policyForm(changes: Record<string, string | string[]>) {
    const page = await browse('GET', '/console/policy', { cookie: admin })
    expect(page.status).toBe(200)
    const form: Record<string, string | string[]> = {}
    for (const m of page.text.matchAll(/<input id="[^"]+" name="([^"]+)" type="number" value="([^"]*)"/g)) form[m[1]!] = m[2]!
    for (const m of page.text.matchAll(/<input type="checkbox" id="[^"]+" name="([^"]+)" value="true" checked=""/g)) form[m[1]!] = 'true'
    for (const m of page.text.matchAll(/<textarea id="[^"]+" name="(ip_allowlist\.[a-z]+)"[^>]*>([^<]*)<\/textarea>/g)) form[m[1]!] = m[2]!
    return { ...form, ...changes }
  }

  it('shows every policy field with the platform bound beside it; a looser value is refused and nothing changes, a stricter one is saved', async () => {
    const page = await browse('GET', '/console/policy', { cookie: admin })
    for (const name of ['password_min_length', 'password_max_age_days.admin', 'password_max_age_days.member', 'password_history', 'mfa_required.admin', 'mfa_required.member', 'ip_allowlist.admin', 'ip_allowlist.member', 'client_cert_required.admin', 'client_cert_required.member', 'session_idle_minutes', 'session_absolute_hours', 'sessions_per_account']) {
      expect(page.text, name).toContain(`name="${name}"`)
    }
    expect(page.text).toContain('プラットフォームの下限: 8')
    expect(page.text).toContain('プラットフォームの上限: 30')
    const before = (await call('GET', '/api/v1/policy', { token: tenant.adminToken })).body
    const audits = await snapshotCounts()
    const looser = await post('/console/policy', await policyForm({ password_min_length: '6', 'password_max_age_days.admin': '45' }))
    expect(looser.status).toBe(422)
    expect(looser.text).toContain('class="flash error"')
    expect(looser.text).toContain('The platform minimum is 8 characters.')
    expect(looser.text).toContain('password_max_age_days.admin')
    // What was typed stays in the form.
    expect(looser.text).toContain('name="password_min_length" type="number" value="6"')
    expect((await call('GET', '/api/v1/policy', { token: tenant.adminToken })).body).toEqual(before)
    expect(await snapshotCounts()).toEqual(audits)
    const stricter = await post('/console/policy', await policyForm({ password_min_length: '12', 'mfa_required.member': 'true', 'ip_allowlist.member': '203.0.113.0/24\n198.51.100.7' }))
    expect(stricter.status).toBe(303)
    expect(stricter.headers.get('Location')).toBe('/console/policy?done=saved')
    const after = (await call('GET', '/api/v1/policy', { token: tenant.adminToken })).body
    expect(after).toEqual({ ...before, password_min_length: 12, mfa_required: { ...before.mfa_required, member: true }, ip_allowlist: { ...before.ip_allowlist, member: ['203.0.113.0/24', '198.51.100.7/32'] } })
    const audit = await call('GET', '/api/v1/audit?action=policy.update', { token: tenant.adminToken })
    expect(audit.body.items.length).toBe(1)
    // Back to what the later tests' members need.
    expect((await call('PUT', '/api/v1/policy', { token: tenant.adminToken, body: { mfa_required: { member: false }, ip_allowlist: { member: [] } } })).status).toBe(200)
  })

  it('enrols TOTP: a server-rendered SVG QR code of the otpauth URI, then a code from the app, and the recovery codes once', async () => {
    const overview = await browse('GET', '/console/mfa', { cookie: admin })
    expect(overview.status).toBe(200)
    let code: string | undefined
    if (!/data-testid="mfa-methods">なし|まだありません/.test(overview.text)) {
      expect((await post('/console/mfa/code', {})).status).toBe(303)
      code = (await lastMail(tenant.adminEmail))?.body.match(/confirmation code is (\d{6})/)?.[1]
    }
    const started = await post('/console/mfa/totp', { current_password: tenant.adminPassword, ...(code ? { code } : {}) })
    expect(started.status).toBe(200)
    expect(started.headers.get('Cache-Control')).toBe('no-store')
    const svg = /<svg [^>]*>.*?<\/svg>/s.exec(started.text)?.[0]
    expect(svg).toBeDefined()
    expect(svg).toContain('viewBox="0 0 ')
    expect(svg).toMatch(/<path d="M\d+,\d+h1v1h-1z/)
    expect(started.text).not.toMatch(/style=|<style|<script/)
    const uri = /data-testid="otpauth-uri">([^<]+)</.exec(started.text)![1]!.replaceAll('&amp;', '&')
    const totp = OTPAuth.URI.parse(uri) as OTPAuth.TOTP
    const wrong = await post('/console/mfa/totp/confirm', { uri, code: '000000' })
    expect(wrong.status).toBe(422)
    expect(wrong.text).toContain('<svg ')
    if (Date.now() % 30_000 > 26_000) await new Promise((r) => setTimeout(r, 30_000 - (Date.now() % 30_000) + 250))
    const done = await post('/console/mfa/totp/confirm', { uri, code: totp.generate() })
    expect(done.status).toBe(200)
    expect(done.headers.get('Cache-Control')).toBe('no-store')
    const codes = [...done.text.matchAll(/<li class="secret">([^<]+)<\/li>/g)].map((m) => m[1])
    expect(codes).toHaveLength(10)
    const factors = await env.DB.prepare("SELECT kind FROM mfa_factors WHERE account_id = ? AND status = 'active' AND kind = 'totp'").bind(tenant.adminId).all()
    expect(factors.results).toHaveLength(1)
    expect((await browse('GET', '/console/mfa', { cookie: admin })).text).not.toContain(codes[0]!)
  })

  it('creates, edits and deletes a record of a collection', async () => {
    const bad = await post('/console/records', { collection: 'customers', data: '{"a":1,"a":2}' })
    expect(bad.status).toBe(422)
    expect(await env.DB.prepare('SELECT count(*) AS n FROM records WHERE tenant_id = ?').bind(tenant.id).first()).toEqual({ n: 0 })
    const created = await post('/console/records', { collection: 'customers', data: '{"name":"Acme"}' })
    expect(created.status).toBe(303)
    const id = /\/console\/records\/(rec_[^?]+)/.exec(created.headers.get('Location')!)![1]!
    expect((await browse('GET', '/console/records?collection=customers', { cookie: admin })).text).toContain(id)
    expect((await post(`/console/records/${id}`, { collection: 'customers', data: '{"name":"Acme KK"}' })).status).toBe(303)
    expect((await call('GET', `/api/v1/records/${id}`, { token: tenant.adminToken })).body.data).toEqual({ name: 'Acme KK' })
    expect((await post(`/console/records/${id}/delete`, {})).status).toBe(303)
    expect((await call('GET', `/api/v1/records/${id}`, { token: tenant.adminToken })).status).toBe(404)
  })

  it('uploads a file through the multipart form, lists it, and offers the download only with the download permission', async () => {
    const form = new FormData()
    form.append('_csrf', csrf)
    form.append('file', new File(['hello, files'], 'hello.txt', { type: 'text/plain' }))
    const uploaded = await browse('POST', '/console/files', { cookie: admin, multipart: form })
    expect(uploaded.status, uploaded.text.slice(uploaded.text.indexOf('<main'), uploaded.text.indexOf('</main>'))).toBe(303)
    const stored = await env.DB.prepare('SELECT id, name, size_bytes AS size FROM files WHERE tenant_id = ?').bind(tenant.id).first<{ id: string; name: string; size: number }>()
    expect(stored).toMatchObject({ name: 'hello.txt', size: 12 })
    expect(await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE action = 'file.upload' AND target_id = ?").bind(stored!.id).first()).toEqual({ n: 1 })
    const list = await browse('GET', '/console/files', { cookie: admin })
    expect(list.text).toContain('hello.txt')
    // The admin holds no `download` (never a default): no link, and the route refuses.
    expect(list.text).not.toContain(`/console/files/${stored!.id}/download`)
    expect((await browse('GET', `/console/files/${stored!.id}/download`, { cookie: admin })).status).toBe(403)
    const reader = await userOf(tenant, 'member', ['files:read', 'download'])
    const readerCookie = (await consoleSignIn(tenant.slug, reader.email, reader.password)).cookie
    const readerList = await browse('GET', '/console/files', { cookie: readerCookie })
    expect(readerList.text).toContain(`/console/files/${stored!.id}/download`)
    expect(readerList.text).not.toContain('name="file"')
    const download = await browse('GET', `/console/files/${stored!.id}/download`, { cookie: readerCookie })
    expect(download.status).toBe(200)
    expect(download.text).toBe('hello, files')
    expect(download.headers.get('Content-Disposition')).toMatch(/^attachment/)
    expect(download.headers.get('Content-Security-Policy')).toBe('sandbox')
    // A cross-site multipart post changes nothing.
    const evil = new FormData()
    evil.append('_csrf', csrf)
    evil.append('file', new File(['x'], 'evil.txt'))
    expect((await browse('POST', '/console/files', { cookie: admin, multipart: evil, headers: { Origin: 'https://evil.example' } })).status).toBe(403)
    expect(await env.DB.prepare("SELECT count(*) AS n FROM files WHERE tenant_id = ? AND name = 'evil.txt'").bind(tenant.id).first()).toEqual({ n: 0 })
    expect((await post(`/console/files/${stored!.id}/delete`, {})).status).toBe(303)
    expect(await env.DB.prepare('SELECT count(*) AS n FROM files WHERE tenant_id = ?').bind(tenant.id).first()).toEqual({ n: 0 })
  })

  it('shows the tenant’s SLA report with checklist links, and grants and revokes support access', async () => {
    const sla = await browse('GET', '/console/sla', { cookie: admin, headers: { 'Accept-Language': 'en' } })
    expect(sla.status).toBe(200)
    expect(sla.text).toContain('SE-13')
    expect(sla.text).toContain('/console/sla/checklist?')
    const month = /name="month" type="month" value="([^"]+)"/.exec(sla.text)![1]!
    const checklist = await browse('GET', `/console/sla/checklist?month=${month}&format=csv&lang=en`, { cookie: admin })
    expect(checklist.status).toBe(200)
    expect(checklist.headers.get('Content-Disposition')).toMatch(/^attachment/)
    expect((await post('/console/support', { hours: '100' })).status).toBe(422)
    expect((await call('GET', '/api/v1/support-access', { token: tenant.adminToken })).body.granted).toBe(false)
    expect((await post('/console/support', { hours: '2' })).status).toBe(303)
    expect((await call('GET', '/api/v1/support-access', { token: tenant.adminToken })).body.granted).toBe(true)
    expect((await post('/console/support/revoke', {})).status).toBe(303)
    expect((await call('GET', '/api/v1/support-access', { token: tenant.adminToken })).body.granted).toBe(false)
  })

  it('keeps a member out of every admin page and every form it lacks the permission for', async () => {
    const member = await userOf(tenant, 'member', ['records:read'])
    const { cookie } = await consoleSignIn(tenant.slug, member.email, member.password)
    const token = hidden((await browse('GET', '/console', { cookie })).text, '_csrf')
    for (const path of ['/console/policy', '/console/sla', '/console/support', '/console/files']) {
      const page = await browse('GET', path, { cookie })
      expect(page.status, path).toBe(403)
      expect(page.text).toContain('このページを表示する権限がありません。')
    }
    const before = await snapshotCounts()
    for (const [path, form] of [['/console/policy', { password_min_length: '20' }], ['/console/support', { hours: '5' }], ['/console/records', { collection: 'x', data: '{}' }]] as const) {
      expect((await post(path, form, cookie, token)).status, path).toBe(403)
    }
    expect(await snapshotCounts()).toEqual({ ...before, audit_events: expect.any(Number) })
    expect((await browse('GET', '/console/records', { cookie })).status).toBe(200)
    expect((await browse('GET', '/console/mfa', { cookie })).status).toBe(200)
  })
})

describe('tenant console: backups, incidents, export, language', () => {
  let tenant: TestTenant
  let admin: string
  let csrf: string

  beforeAll(async () => {
    tenant = await tenantWithAdmin()
    admin = `__Host-mamori_console=${tenant.adminToken}`
    csrf = hidden((await browse('GET', '/console', { cookie: admin })).text, '_csrf')
  })

  const post = (path: string, form: Record<string, string>, cookie = admin, token = csrf) => browse('POST', path, { cookie, form: { _csrf: token, ...form } })

  async function count(sql: string, ...params: unknown[]) {
    return (await env.DB.prepare(sql).bind(...params).first<{ n: number }>())!.n
  }

  it('shows the last backup on the dashboard and the generations on the backups page; a member sees neither', async () => {
    expect((await browse('GET', '/console', { cookie: admin })).text).toContain('完了したバックアップはまだありません。')
    const ops = await operator()
    expect((await call('POST', '/ops/v1/backups', { token: ops, body: { tenant_id: tenant.id } })).status).toBe(202)
    const instance = await env.SNAPSHOTS.get(snapshotInstanceId(tenant.id, jstDate()))
    for (let i = 0; i < 600 && !['complete', 'errored'].includes(((await instance.status()) as { status: string }).status); i++) await new Promise((r) => setTimeout(r, 50))
    const backup = (await env.DB.prepare("SELECT id, jst_date FROM backups WHERE tenant_id = ? AND status = 'complete'").bind(tenant.id).first<{ id: string; jst_date: string }>())!
    // A newer generation that failed is not the last backup.
    await env.DB.prepare("INSERT INTO backups (id, tenant_id, jst_date, kind, status, format_version, created_at, error) VALUES (?, ?, '2099-01-01', 'daily', 'failed', 1, ?, 'disk full')")
      .bind(`bk_${'z'.repeat(26)}`, tenant.id, new Date().toISOString())
      .run()
    const dashboard = await browse('GET', '/console', { cookie: admin })
    const card = /data-testid="last-backup">([\s\S]*?)<\/div>/.exec(dashboard.text)![1]!
    expect(card).toContain(`${backup.jst_date} のバックアップ`)
    expect(card).toMatch(/検証結果: <span class="status met">正常<\/span> <time/)
    expect(card).not.toContain('2099-01-01')
    const page = await browse('GET', '/console/backups', { cookie: admin })
    expect(page.status).toBe(200)
    expect(page.text).toContain(backup.id)
    expect(page.text).toContain('2099-01-01')
    // The failure reason is for operators, as in GET /api/v1/backups.
    expect(page.text).not.toContain('disk full')
    const member = await userOf(tenant, 'member')
    const cookie = `__Host-mamori_console=${member.token}`
    expect((await browse('GET', '/console', { cookie })).text).not.toContain('data-testid="last-backup"')
    expect((await browse('GET', '/console/backups', { cookie })).status).toBe(403)
    expect((await browse('GET', '/console/incidents', { cookie })).status).toBe(403)
  })

  it('lists the incidents that affect the tenant with their timeline, not another tenant’s', async () => {
    const ops = await operator()
    const other = await tenantWithAdmin()
    const opened = await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'Mail delays', description: 'Mail is slow.', severity: 'minor', tenant_ids: [tenant.id] } })
    expect(opened.status).toBe(201)
    expect((await call('PATCH', `/ops/v1/incidents/${opened.body.id}`, { token: ops, body: { update: 'Cause found: a full queue.' } })).status).toBe(200)
    expect((await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'Other tenant only', description: 'x', severity: 'minor', tenant_ids: [other.id] } })).status).toBe(201)
    const page = await browse('GET', '/console/incidents', { cookie: admin })
    expect(page.status).toBe(200)
    expect(page.text).toContain('Mail delays')
    expect(page.text).toContain('Mail is slow.')
    expect(page.text).toContain('対応中')
    expect(page.text).toContain('Cause found: a full queue.')
    expect(page.text).not.toContain('Other tenant only')
    expect((await browse('GET', '/console/incidents?cursor=', { cookie: admin })).status).toBe(422)
  })

  it('offers the export only to an account with the export permission, as a sandboxed attachment, audited', async () => {
    expect((await browse('GET', '/console', { cookie: admin })).text).not.toContain('href="/console/export"')
    expect((await browse('GET', '/console/export', { cookie: admin })).status).toBe(403)
    const exporter = await userOf(tenant, 'member', ['export'])
    const cookie = `__Host-mamori_console=${exporter.token}`
    expect((await browse('GET', '/console', { cookie })).text).toContain('href="/console/export"')
    const before = await count("SELECT count(*) AS n FROM audit_events WHERE tenant_id = ? AND action = 'data.export'", tenant.id)
    const file = await browse('GET', '/console/export', { cookie })
    expect(file.status).toBe(200)
    expect(file.headers.get('Content-Disposition')).toMatch(/^attachment; filename="export-\d{4}-\d{2}-\d{2}\.ndjson"$/)
    expect(file.headers.get('Content-Security-Policy')).toBe('sandbox')
    expect(file.headers.get('Content-Type')).toBe('application/x-ndjson; charset=utf-8')
    expect(file.text.trim().split('\n').at(-1)).toBe('{"complete":true}')
    expect(file.text).toContain(`"${exporter.email}"`)
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE tenant_id = ? AND action = 'data.export'", tenant.id)).toBe(before + 1)
    expect((await browse('GET', '/console/export?cursor=not-a-cursor', { cookie })).status).toBe(422)
  })

  it('shows the account’s language whatever Accept-Language says, and the settings forms change it and the tenant’s', async () => {
    const ja = await browse('GET', '/console/settings', { cookie: admin, headers: { 'Accept-Language': 'en' } })
    expect(ja.status).toBe(200)
    expect(ja.text).toContain('<html lang="ja">')
    expect(ja.text).toContain('<label for="me-language">表示とメールの言語</label>')
    expect(ja.text).toContain('<option value="" selected="">テナントの設定に従う（日本語）</option>')
    // Not a language: the API's 422, nothing changed.
    expect((await post('/console/settings', { language: 'fr' })).status).toBe(422)
    const saved = await post('/console/settings', { language: 'en' })
    expect(saved.status).toBe(303)
    expect(saved.headers.get('Location')).toBe('/console/settings?done=saved')
    expect(await env.DB.prepare('SELECT language FROM users WHERE tenant_id = ? AND email = ?').bind(tenant.id, tenant.adminEmail).first()).toEqual({ language: 'en' })
    expect(await count("SELECT count(*) AS n FROM audit_events WHERE tenant_id = ? AND action = 'user.update' AND details LIKE '%\"to\":\"en\"%'", tenant.id)).toBe(1)
    const en = await browse('GET', '/console', { cookie: admin, headers: { 'Accept-Language': 'ja' } })
    expect(en.text).toContain('<html lang="en">')
    expect(en.text).toContain('<h1>Dashboard</h1>')
    // Remembered for the pages without a session.
    expect(en.headers.get('Set-Cookie')).toMatch(/^__Host-mamori_lang=en; Max-Age=\d+; Path=\/; HttpOnly; Secure; SameSite=Lax/)
    expect((await browse('GET', '/console/sign-in', { headers: { Cookie: '__Host-mamori_lang=en', 'Accept-Language': 'ja' } })).text).toContain('<html lang="en">')
    // An explicit ?lang= on a public page wins over both.
    expect((await browse('GET', '/console/sign-in?lang=ja', { headers: { Cookie: '__Host-mamori_lang=en' } })).text).toContain('<html lang="ja">')
    // Back to following the tenant; the tenant admin sets the tenant to English, and every account that follows it reads English.
    expect((await post('/console/settings', { language: '' })).status).toBe(303)
    expect(await env.DB.prepare('SELECT language FROM users WHERE tenant_id = ? AND email = ?').bind(tenant.id, tenant.adminEmail).first()).toEqual({ language: null })
    expect((await browse('GET', '/console', { cookie: admin })).text).toContain('<html lang="ja">')
    expect((await post('/console/settings/tenant', { language: 'xx' })).status).toBe(422)
    expect((await post('/console/settings/tenant', { language: 'en' })).status).toBe(303)
    expect(await env.DB.prepare('SELECT language FROM tenants WHERE id = ?').bind(tenant.id).first()).toEqual({ language: 'en' })
    const member = await userOf(tenant, 'member')
    const memberPage = await browse('GET', '/console/settings', { cookie: `__Host-mamori_console=${member.token}` })
    expect(memberPage.text).toContain('<html lang="en">')
    expect(memberPage.text).toContain('Follow the tenant’s setting (English)')
    // A member has no tenant settings form, and its post is refused.
    expect(memberPage.text).not.toContain('action="/console/settings/tenant"')
    const memberCsrf = hidden(memberPage.text, '_csrf')
    expect((await post('/console/settings/tenant', { language: 'ja' }, `__Host-mamori_console=${member.token}`, memberCsrf)).status).toBe(403)
    expect((await post('/console/settings/tenant', { language: 'ja' })).status).toBe(303)
  })
})
