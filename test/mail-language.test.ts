import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import worker from '../src/index'
import { localeFromAcceptLanguage, messages, pickLocale } from '../src/i18n'
import { en } from '../src/i18n/mail/en'
import { ja } from '../src/i18n/mail/ja'
import {
  OPERATOR,
  call,
  expectProblem,
  lastMail,
  operator,
  snapshotCounts,
  strongPassword,
  tenantWithAdmin,
  uniqueSlug,
  userOf,
  type TestTenant,
} from './helpers'
import { freshIp, mailsTo, tenantLogin } from './throttle-helpers'

/**
 * Mail in Japanese and English (issue 9): Japanese unless the tenant or the
 * account chose English, each recipient of a notice in their own language,
 * the settings strict and audited, and both catalogues complete.
 */

const DAY = 86_400_000
const iso = (ms: number) => new Date(ms).toISOString()
/** 10:00 JST (01:00 UTC) on the day `days` from now: a one-hour window then never crosses midnight, whenever the suite runs. */
const jstMorning = (days: number) => {
  const at = new Date(Date.now() + days * DAY)
  at.setUTCHours(1, 0, 0, 0)
  return at.getTime()
}
/** A JST time as the Japanese catalogue writes it: 2026年3月22日(日) 00:00. */
const JA_TIME = /\d{4}年\d{1,2}月\d{1,2}日\([日月火水木金土]\) \d\d:\d\d/

async function runCron(scheduledTime = Date.now()) {
  const ctx = createExecutionContext()
  await worker.scheduled(createScheduledController({ cron: '*/5 * * * *', scheduledTime }), env, ctx)
  await waitOnExecutionContext(ctx)
}

/** What a notice (by its dedupe key) mailed to each address. */
async function noticeMails(noticeKey: string) {
  const { results } = await env.DB.prepare(
    `SELECT m.to_address AS to_address, m.subject AS subject, m.body AS body FROM mail_outbox m JOIN notice_jobs j ON m.dedupe_key LIKE 'notice:' || j.id || ':%'
     WHERE j.dedupe_key = ? ORDER BY m.to_address`,
  )
    .bind(noticeKey)
    .all<{ to_address: string; subject: string; body: string }>()
  return Object.fromEntries(results.map((r) => [r.to_address, { subject: r.subject, body: r.body }]))
}

async function auditEvents(action: string, targetId: string) {
  const { results } = await env.DB.prepare('SELECT actor_type, actor_id, details FROM audit_events WHERE action = ? AND target_id = ? ORDER BY seq')
    .bind(action, targetId)
    .all<{ actor_type: string; actor_id: string; details: string }>()
  return results.map((r) => ({ ...r, details: JSON.parse(r.details) }))
}

const contactOf = (t: { slug: string }) => `contact@${t.slug}.example`

let ops: string
let jaTenant: TestTenant

beforeAll(async () => {
  ops = await operator()
  jaTenant = await tenantWithAdmin()
})

/** A tenant created in English, its admin's first sign-in left to the test. */
async function englishTenant() {
  const slug = uniqueSlug('en')
  const adminEmail = `admin@${slug}.example`
  const created = await call('POST', '/ops/v1/tenants', {
    token: ops,
    body: { slug, name: `Tenant ${slug}`, plan: 'standard', contact_email: `contact@${slug}.example`, admin: { email: adminEmail, name: 'Admin' }, language: 'en' },
  })
  expect(created.status).toBe(201)
  expect(created.body.tenant.language).toBe('en')
  return { id: created.body.tenant.id as string, slug, adminEmail, temporaryPassword: created.body.admin.temporary_password as string }
}

describe('Japanese by default', () => {
  it('creates tenants in Japanese and shows the setting on the tenant, the account and GET /api/v1/me', async () => {
    const tenant = await call('GET', `/ops/v1/tenants/${jaTenant.id}`, { token: ops })
    expect(tenant.body.language).toBe('ja')
    const me = await call('GET', '/api/v1/me', { token: jaTenant.adminToken })
    expect(me.body.user.language).toBeNull()
    expect(me.body.tenant.language).toBe('ja')
    expect((await call('GET', `/api/v1/users/${jaTenant.adminId}`, { token: jaTenant.adminToken })).body.language).toBeNull()
    expect(await call('GET', '/api/v1/tenant', { token: jaTenant.adminToken })).toMatchObject({
      status: 200,
      body: { id: jaTenant.id, slug: jaTenant.slug, name: `Tenant ${jaTenant.slug}`, language: 'ja' },
    })
  })

  it('mails the sign-in code in Japanese, to tenant admins and operators alike', async () => {
    const login = await call('POST', '/api/v1/auth/login', { body: { tenant: jaTenant.slug, email: jaTenant.adminEmail, password: jaTenant.adminPassword } })
    expect(login.status).toBe(200)
    await call('POST', '/api/v1/me/mfa/email', { token: jaTenant.adminToken, body: { current_password: jaTenant.adminPassword } })
    await call('POST', '/api/v1/auth/login', { body: { tenant: jaTenant.slug, email: jaTenant.adminEmail, password: jaTenant.adminPassword } })
    const mail = (await lastMail(jaTenant.adminEmail))!
    expect(mail.subject).toMatch(/^【Mamori】サインイン確認コード: \d{6}$/)
    expect(mail.body).toContain('Mamori へのサインインに必要な確認コードをお送りします。')
    expect(mail.body).toContain('このコードの有効期限は 10 分間で、1 回のみご利用いただけます。')

    await call('POST', '/ops/v1/auth/login', { body: { email: OPERATOR.email, password: OPERATOR.password } })
    expect((await lastMail(OPERATOR.email))!.subject).toMatch(/^【Mamori】サインイン確認コード: \d{6}$/)
  })

  it('mails a new account and a reset password in Japanese, with the time in JST', async () => {
    const email = `new-${crypto.randomUUID().slice(0, 8)}@${jaTenant.slug}.example`
    const created = await call('POST', '/api/v1/users', { token: jaTenant.adminToken, body: { email, name: 'New', role: 'member' } })
    expect(created.status).toBe(201)
    expect(created.body.language).toBeNull()
    const welcome = (await lastMail(email))!
    expect(welcome.subject).toBe('【Mamori】アカウント作成のお知らせ')
    expect(welcome.body).toContain(`メールアドレス: ${email}\nロール: メンバー`)

    const reset = await call('POST', `/api/v1/users/${created.body.id}/reset-password`, { token: jaTenant.adminToken })
    expect(reset.status).toBe(200)
    const mail = (await lastMail(email))!
    expect(mail.subject).toBe('【Mamori】パスワードがリセットされました')
    expect(mail.body).toMatch(new RegExp(`^Tenant ${jaTenant.slug} の Mamori アカウントのパスワードが、${JA_TIME.source} に管理者によりリセットされました。`))
    expect(mail.body).not.toContain(reset.body.temporary_password)
  })

  it('mails the self-service reset code in Japanese', async () => {
    const user = await userOf(jaTenant)
    const accepted = await call('POST', '/api/v1/auth/password-reset', { body: { tenant: jaTenant.slug, email: user.email }, headers: { 'CF-Connecting-IP': freshIp() } })
    expect(accepted.status).toBe(202)
    // The code goes out after the answer.
    let mail = await lastMail(user.email)
    for (let i = 0; i < 100 && !mail!.subject.includes('再設定コード'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      mail = await lastMail(user.email)
    }
    expect(mail!.subject).toMatch(/^【Mamori】パスワード再設定コード: \d{8}$/)
    expect(mail!.body).toContain('パスワード再設定のご依頼を承りました。')
  })

  it('mails the password expiry reminder in Japanese, the date in JST', async () => {
    const tenant = await tenantWithAdmin()
    const changedAt = Date.now() - 24 * DAY
    await env.DB.prepare('UPDATE users SET password_changed_at = ? WHERE id = ?').bind(iso(changedAt), tenant.adminId).run()
    await runCron()
    const mail = (await lastMail(tenant.adminEmail))!
    expect(mail.subject).toBe('【Mamori】パスワードの有効期限まであと 7 日です')
    const expires = new Date(changedAt + 30 * DAY + 9 * 3_600_000)
    const day = `${expires.getUTCFullYear()}年${expires.getUTCMonth() + 1}月${expires.getUTCDate()}日`
    expect(mail.body).toContain(`Mamori のパスワードの有効期限は ${day}`)
    expect(mail.body).toContain('30 日ごとの変更が必要です')
  })

  it('mails the failed sign-in notice in Japanese', async () => {
    const user = await userOf(jaTenant)
    const ip = freshIp()
    for (let i = 0; i < 10; i++) await tenantLogin(jaTenant.slug, user.email, 'wrong password entirely', ip)
    const notices = (await mailsTo(user.email)).filter((m) => m.subject === '【Mamori】サインインの失敗が続いています')
    expect(notices).toHaveLength(1)
    expect(notices[0]!.body).toContain(`お使いの Mamori アカウントへのサインインが、${ip} から10 回続けて失敗しました。`)
  })

  it('mails a security alert to the account and to the admins in Japanese', async () => {
    const email = `roaming-${crypto.randomUUID().slice(0, 8)}@${jaTenant.slug}.example`
    const created = await call('POST', '/api/v1/users', { token: jaTenant.adminToken, body: { email, name: 'Roaming', role: 'member' } })
    const first = await call('POST', '/api/v1/auth/login', { body: { tenant: jaTenant.slug, email, password: created.body.temporary_password }, headers: { 'CF-Connecting-IP': '192.0.2.10' } })
    const password = strongPassword()
    await call('POST', '/api/v1/auth/password', { token: first.body.token, body: { current_password: created.body.temporary_password, new_password: password } })
    const elsewhere = await call('POST', '/api/v1/auth/login', { body: { tenant: jaTenant.slug, email, password }, headers: { 'CF-Connecting-IP': '198.51.100.20' } })
    expect(elsewhere.body.status).toBe('ok')
    const own = (await mailsTo(email)).filter((m) => m.subject === '【Mamori】新しいサインインのお知らせ')
    expect(own).toHaveLength(1)
    expect(own[0]!.body).toContain(`Tenant ${jaTenant.slug} のお使いのアカウント（${email}）に、これまで使用されたことのないネットワークからサインインがありました。`)
    expect(own[0]!.body).toMatch(new RegExp(`日時: ${JA_TIME.source}`))
    expect(own[0]!.body).toContain('network: 198.51.100.0/24')
    const admins = (await mailsTo(jaTenant.adminEmail)).filter((m) => m.subject === '【Mamori】セキュリティアラート: 新しいネットワークからのサインイン')
    expect(admins).toHaveLength(1)
    expect(admins[0]!.body).toContain(`アカウント: ${email}（${created.body.id}）`)
    expect(admins[0]!.body).toContain('このメールは、テナントの管理者の皆様にお送りしています。')
  })

  it('mails a maintenance window and an incident to the contact and admins in Japanese', async () => {
    const start = jstMorning(40)
    const window = await call('POST', '/ops/v1/maintenance-windows', {
      token: ops,
      body: { starts_at: iso(start), duration_minutes: 60, kind: 'maintenance', tenant_ids: [jaTenant.id] },
    })
    expect(window.status).toBe(201)
    const incident = await call('POST', '/ops/v1/incidents', {
      token: ops,
      body: { title: 'ファイルのアップロード遅延', description: 'アップロードがタイムアウトしています。', severity: 'major', tenant_ids: [jaTenant.id] },
    })
    expect(incident.status).toBe(201)
    await runCron()
    const windowMails = await noticeMails(`mw:${window.body.id}:scheduled`)
    expect(Object.keys(windowMails).sort()).toEqual([jaTenant.adminEmail, contactOf(jaTenant)].sort())
    for (const mail of Object.values(windowMails)) {
      expect(mail.subject).toMatch(new RegExp(`^【Mamori】メンテナンスのお知らせ（${JA_TIME.source}）$`))
      expect(mail.body).toContain('Mamori のメンテナンスを下記のとおり予定しております。')
      expect(mail.body).toMatch(new RegExp(`日時: ${JA_TIME.source} ～ \\d\\d:\\d\\d（日本時間）`))
    }
    const incidentMails = await noticeMails(`inc:${incident.body.id}:opened`)
    expect(Object.keys(incidentMails)).toHaveLength(2)
    for (const mail of Object.values(incidentMails)) {
      expect(mail.subject).toBe('【Mamori】障害発生のお知らせ: ファイルのアップロード遅延')
      expect(mail.body).toContain('障害: ファイルのアップロード遅延（重大度: 重大）')
      expect(mail.body).toContain('現在、原因を調査しております。')
    }
  })
})

describe('English when the tenant says so', () => {
  it('mails an English tenant\u2019s sign-in code in English', async () => {
    const t = await englishTenant()
    const login = await call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: t.adminEmail, password: t.temporaryPassword } })
    expect(login.body.status).toBe('mfa_required')
    const mail = (await lastMail(t.adminEmail))!
    expect(mail.subject).toMatch(/^Mamori sign-in code: \d{6}$/)
    expect(mail.body).toMatch(/^Your Mamori sign-in code is \d{6}\./)
  })

  it('switches a tenant to English through PATCH /ops/v1/tenants/{id}, audited, and its notices follow', async () => {
    const t = await tenantWithAdmin()
    const patched = await call('PATCH', `/ops/v1/tenants/${t.id}`, { token: ops, body: { language: 'en' } })
    expect(patched.status).toBe(200)
    expect(patched.body.language).toBe('en')
    expect((await auditEvents('tenant.update', t.id)).at(-1)).toMatchObject({ actor_type: 'operator', details: { changes: { language: { from: 'ja', to: 'en' } } } })
    const start = jstMorning(41)
    const window = await call('POST', '/ops/v1/maintenance-windows', { token: ops, body: { starts_at: iso(start), duration_minutes: 60, kind: 'maintenance', tenant_ids: [t.id] } })
    await runCron()
    const mails = await noticeMails(`mw:${window.body.id}:scheduled`)
    expect(Object.keys(mails).sort()).toEqual([t.adminEmail, contactOf(t)].sort())
    for (const mail of Object.values(mails)) {
      expect(mail.subject).toMatch(/^Mamori: maintenance scheduled for \d{4}-\d\d-\d\d \d\d:\d\d JST$/)
      expect(mail.body).toMatch(/When: \d{4}-\d\d-\d\d \d\d:\d\d – \d\d:\d\d JST/)
    }
  })

  it('lets a tenant admin set the tenant\u2019s language (PATCH /api/v1/tenant), audited, and not a member', async () => {
    const t = await tenantWithAdmin()
    const member = await userOf(t)
    expectProblem(await call('PATCH', '/api/v1/tenant', { token: member.token, body: { language: 'en' } }), 403, 'forbidden')
    const patched = await call('PATCH', '/api/v1/tenant', { token: t.adminToken, body: { language: 'en' } })
    expect(patched).toMatchObject({ status: 200, body: { id: t.id, language: 'en' } })
    expect((await call('GET', `/ops/v1/tenants/${t.id}`, { token: ops })).body.language).toBe('en')
    expect(await auditEvents('tenant.update', t.id)).toEqual([
      { actor_type: 'user', actor_id: t.adminId, details: { changes: { language: { from: 'ja', to: 'en' } } } },
    ])
    // The same value again changes nothing and records nothing.
    expect((await call('PATCH', '/api/v1/tenant', { token: t.adminToken, body: { language: 'en' } })).status).toBe(200)
    expect(await auditEvents('tenant.update', t.id)).toHaveLength(1)
    // Another tenant is untouched.
    expect((await call('GET', '/api/v1/tenant', { token: jaTenant.adminToken })).body.language).toBe('ja')
  })
})

describe('an account\u2019s own language overrides its tenant\u2019s', () => {
  it('mails a Japanese-speaking account of an English tenant in Japanese (PATCH /api/v1/me), audited', async () => {
    const t = await englishTenant()
    const login = await call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: t.adminEmail, password: t.temporaryPassword } })
    const code = (await lastMail(t.adminEmail))!.body.match(/sign-in code is (\d{6})/)![1]!
    const first = await call('POST', '/api/v1/auth/mfa', { body: { challenge: login.body.challenge, code } })
    const password = strongPassword()
    const changed = await call('POST', '/api/v1/auth/password', { token: first.body.token, body: { current_password: t.temporaryPassword, new_password: password } })
    const token = changed.body.token as string
    // A second factor by mail, so every sign-in mails a code.
    expect((await call('POST', '/api/v1/me/mfa/email', { token, body: { current_password: password } })).status).toBe(200)

    const patched = await call('PATCH', '/api/v1/me', { token, body: { language: 'ja' } })
    expect(patched.status).toBe(200)
    expect(patched.body.user.language).toBe('ja')
    expect(patched.body.tenant.language).toBe('en')
    const me = patched.body.user.id as string
    expect(await auditEvents('user.update', me)).toEqual([
      { actor_type: 'user', actor_id: me, details: { changes: { language: { from: null, to: 'ja' } }, via: 'self' } },
    ])

    await call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: t.adminEmail, password } })
    expect((await lastMail(t.adminEmail))!.subject).toMatch(/^【Mamori】サインイン確認コード: \d{6}$/)

    // Notices: the contact reads the tenant's English, the admin their own Japanese.
    const incident = await call('POST', '/ops/v1/incidents', { token: ops, body: { title: 'Slow uploads', description: 'Uploads time out.', severity: 'minor', tenant_ids: [t.id] } })
    await runCron()
    const mails = await noticeMails(`inc:${incident.body.id}:opened`)
    expect(mails[contactOf(t)]!.subject).toBe('Mamori incident: Slow uploads')
    expect(mails[t.adminEmail]!.subject).toBe('【Mamori】障害発生のお知らせ: Slow uploads')

    // null follows the tenant again.
    const back = await call('PATCH', '/api/v1/me', { token, body: { language: null } })
    expect(back.body.user.language).toBeNull()
    await call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: t.adminEmail, password } })
    expect((await lastMail(t.adminEmail))!.subject).toMatch(/^Mamori sign-in code: \d{6}$/)
  })

  it('lets an admin set an account\u2019s language (PATCH /api/v1/users/{id}), audited, and mails it in that language', async () => {
    const user = await userOf(jaTenant)
    const patched = await call('PATCH', `/api/v1/users/${user.id}`, { token: jaTenant.adminToken, body: { language: 'en' } })
    expect(patched).toMatchObject({ status: 200, body: { id: user.id, language: 'en' } })
    expect((await auditEvents('user.update', user.id)).at(-1)).toMatchObject({ actor_id: jaTenant.adminId, details: { changes: { language: { from: null, to: 'en' } } } })
    await call('POST', `/api/v1/users/${user.id}/reset-password`, { token: jaTenant.adminToken })
    expect((await lastMail(user.email))!.subject).toBe('Mamori: your password was reset')
  })

  it('mails a new account created with a language in that language', async () => {
    const email = `en-${crypto.randomUUID().slice(0, 8)}@${jaTenant.slug}.example`
    const created = await call('POST', '/api/v1/users', { token: jaTenant.adminToken, body: { email, name: 'New', role: 'member', language: 'en' } })
    expect(created.body.language).toBe('en')
    expect((await lastMail(email))!.subject).toBe('Mamori: an account was created for you')
  })
})

describe('operators', () => {
  it('mails an operator invited in English in English, and one invited without a language in Japanese', async () => {
    const english = `en-op-${crypto.randomUUID().slice(0, 8)}@mamori.test`
    const invited = await call('POST', '/ops/v1/operators', { token: ops, body: { email: english, name: 'English Operator', language: 'en' } })
    expect(invited).toMatchObject({ status: 201, body: { email: english, language: 'en' } })
    expect((await lastMail(english))!.subject).toBe('Mamori: an operator account was created for you')
    await call('POST', '/ops/v1/auth/login', { body: { email: english, password: invited.body.temporary_password } })
    expect((await lastMail(english))!.subject).toMatch(/^Mamori sign-in code: \d{6}$/)

    const japanese = `ja-op-${crypto.randomUUID().slice(0, 8)}@mamori.test`
    const plain = await call('POST', '/ops/v1/operators', { token: ops, body: { email: japanese, name: 'Japanese Operator' } })
    expect(plain.body.language).toBeNull()
    expect((await lastMail(japanese))!.subject).toBe('【Mamori】運用者アカウント作成のお知らせ')
    expectProblem(await call('POST', '/ops/v1/operators', { token: ops, body: { email: `fr-${japanese}`, name: 'X', language: 'fr' } }), 422, 'validation')
  })
})

describe('the settings are strict', () => {
  it.each([
    ['PATCH /api/v1/me', 'PATCH', () => '/api/v1/me', () => jaTenant.adminToken, { language: 'fr' }],
    ['PATCH /api/v1/tenant', 'PATCH', () => '/api/v1/tenant', () => jaTenant.adminToken, { language: 'fr' }],
    ['PATCH /api/v1/tenant (null)', 'PATCH', () => '/api/v1/tenant', () => jaTenant.adminToken, { language: null }],
    ['PATCH /api/v1/users/{id}', 'PATCH', () => `/api/v1/users/${jaTenant.adminId}`, () => jaTenant.adminToken, { language: 'fr' }],
    ['PATCH /ops/v1/tenants/{id}', 'PATCH', () => `/ops/v1/tenants/${jaTenant.id}`, () => ops, { language: 'fr' }],
    ['PATCH /ops/v1/tenants/{id} (upper case)', 'PATCH', () => `/ops/v1/tenants/${jaTenant.id}`, () => ops, { language: 'EN' }],
  ])('%s refuses an unknown language with 422 naming body.language, and changes nothing', async (_name, method, path, token, body) => {
    const before = await snapshotCounts()
    const problem = expectProblem(await call(method, path(), { token: token(), body }), 422, 'validation')
    expect(problem.errors.map((e: { path: string }) => e.path)).toEqual(['body.language'])
    expect(await snapshotCounts()).toEqual(before)
    expect((await call('GET', '/api/v1/tenant', { token: jaTenant.adminToken })).body.language).toBe('ja')
    expect((await call('GET', '/api/v1/me', { token: jaTenant.adminToken })).body.user.language).toBeNull()
  })

  it('refuses POST /ops/v1/tenants with language "fr" (422) and creates nothing', async () => {
    const before = await snapshotCounts()
    const slug = uniqueSlug('fr')
    const reply = await call('POST', '/ops/v1/tenants', {
      token: ops,
      body: { slug, name: 'French', plan: 'standard', contact_email: `contact@${slug}.example`, admin: { email: `admin@${slug}.example`, name: 'A' }, language: 'fr' },
    })
    expect(expectProblem(reply, 422, 'validation').errors.map((e: { path: string }) => e.path)).toEqual(['body.language'])
    expect(await snapshotCounts()).toEqual(before)
  })

  it('refuses an empty PATCH /api/v1/me and an unknown field with 422', async () => {
    expectProblem(await call('PATCH', '/api/v1/me', { token: jaTenant.adminToken, body: {} }), 422, 'validation')
    expectProblem(await call('PATCH', '/api/v1/me', { token: jaTenant.adminToken, body: { language: 'en', role: 'admin' } }), 422, 'validation')
  })
})

describe('the catalogues', () => {
  it('have the same mails in Japanese and English', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(ja).sort())
    expect(messages('ja').mail).toBe(ja)
    expect(messages('en').mail).toBe(en)
  })

  it('write every mail with a subject and a text in both languages, Japanese ones in Japanese', () => {
    const at = '2026-03-21T15:00:00.000Z'
    const facts = { at, details: {} }
    const windowFacts = { kind: 'maintenance' as const, starts_at: at, ends_at: '2026-03-21T20:00:00.000Z', emergency: false, reason: null, message: null }
    const incident = { title: 'T', description: 'D', severity: 'major', opened_at: at, resolved_at: at, message: 'M' }
    const samples: { [K in keyof typeof ja]: Parameters<(typeof ja)[K]>[0] } = {
      signInCode: { code: '123456', minutes: 10 },
      stepUpCode: { code: '123456', minutes: 10 },
      accountCreated: { email: 'a@example.com', role: 'member' },
      operatorAccountCreated: { email: 'o@example.com' },
      passwordResetByAdmin: { tenantName: 'Acme', by: 'admin', at },
      passwordResetCode: { tenantName: 'Acme', code: '12345678', minutes: 10 },
      passwordChangedByReset: { tenantName: 'Acme', at },
      passwordExpiry: { daysLeft: 7, expiresAt: at, maxAgeDays: 30 },
      failedSignIns: { count: 10, ip: '192.0.2.1' },
      accountLocked: { count: 100 },
      secondStepLocked: { count: 10, ip: null },
      securityAlertAdmin: { kind: 'download_burst', tenant: { name: 'Acme', slug: 'acme' }, facts, requestId: 'req_1', action: 'security.download_burst' },
      securityAlertUser: { kind: 'new_network_sign_in', email: 'a@example.com', tenantName: 'Acme', facts },
      usageAlert: { tenantName: 'Acme', level: 80, used: 800, quota: 1000, month: '2026-03', plan: 'standard' },
      windowScheduled: windowFacts,
      windowChanged: windowFacts,
      windowCancelled: windowFacts,
      windowReminder7d: windowFacts,
      windowReminder1d: windowFacts,
      windowStarted: windowFacts,
      windowEnded: windowFacts,
      announcement: { kind: 'upgrade', effective_at: at, subject: 'v2', body: 'B' },
      incidentOpened: incident,
      incidentUpdated: incident,
      incidentResolved: incident,
    }
    for (const key of Object.keys(ja) as (keyof typeof ja)[]) {
      const write = (catalogue: typeof ja) => (catalogue[key] as (p: unknown) => { subject: string; text: string })(samples[key])
      const [j, e] = [write(ja), write(en)]
      for (const mail of [j, e]) expect(mail.subject.length > 0 && mail.text.length > 0, key).toBe(true)
      expect(j.subject, key).toMatch(/^【Mamori】/)
      expect(j.text, key).toMatch(/[ぁ-んァ-ヶ一-龠]/)
      expect(e.text, key).not.toMatch(/[ぁ-んァ-ヶ]/)
    }
    expect(ja.windowScheduled(windowFacts).text).toContain('日時: 2026年3月22日(日) 00:00 ～ 05:00（日本時間）')
    expect(en.windowScheduled(windowFacts).text).toContain('When: 2026-03-22 00:00 – 05:00 JST')
    // Japan time in both languages: 2026-03-21T15:00Z is midnight on Sunday 22 March in JST.
    expect(ja.passwordExpiry(samples.passwordExpiry).text).toContain('2026年3月22日(日) 00:00')
    expect(en.passwordExpiry(samples.passwordExpiry).text).toContain('2026-03-22 00:00 JST')
    expect(ja.securityAlertAdmin(samples.securityAlertAdmin).text).toContain('日時: 2026年3月22日(日) 00:00')
    expect(en.securityAlertAdmin(samples.securityAlertAdmin).text).toContain('When: 2026-03-22 00:00 JST')
  })
})

describe('choosing the language', () => {
  it('takes the account\u2019s setting, else the tenant\u2019s, else Japanese', () => {
    expect(pickLocale('en', 'ja')).toBe('en')
    expect(pickLocale(null, 'en')).toBe('en')
    expect(pickLocale(null, null)).toBe('ja')
    expect(pickLocale('fr', 'xx')).toBe('ja')
  })

  it.each([
    ['ja,en;q=0.8', 'ja'],
    ['en-US,en;q=0.9,ja;q=0.8', 'en'],
    ['fr-FR,ja-JP;q=0.5,en;q=0.4', 'ja'],
    ['en;q=0.2, ja;q=0.9', 'ja'],
    ['ja;q=0, en', 'en'],
    ['fr, de', null],
    ['*', null],
    ['', null],
    [null, null],
    ['en;q=abc, ja', 'ja'],
    ['EN-gb', 'en'],
  ])('reads Accept-Language %j as %j', (header, expected) => {
    expect(localeFromAcceptLanguage(header)).toBe(expected)
  })
})
