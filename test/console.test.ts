import { env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { browse, cookieOf, hidden } from './console-browse'
import { call, lastCode, snapshotCounts, tenantWithAdmin, userOf, type TestTenant } from './helpers'

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
    for (const path of ['/console/users', '/console/ledger', '/console/ledger.csv', '/console/audit']) {
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
