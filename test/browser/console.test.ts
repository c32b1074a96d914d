// The console in a real browser (Chromium through playwright-core) against
// the dev server: one server and one browser for every test in this file.
import { existsSync, mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'

const CHROMIUM = process.env.MAMORI_CHROMIUM ?? '/usr/bin/chromium'
const REQUIRED = process.env.MAMORI_REQUIRE_BROWSER === '1'
const found = existsSync(CHROMIUM)
const ARTIFACTS = 'test-artifacts'

if (!found) {
  const notice = `\n${'!'.repeat(78)}\n!! BROWSER TESTS SKIPPED: no Chromium at ${CHROMIUM}.\n!! Install it (apt-get install -y chromium); MAMORI_REQUIRE_BROWSER=1 makes this a failure.\n${'!'.repeat(78)}\n`
  console.warn(notice)
  if (REQUIRED) throw new Error(`MAMORI_REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM}`)
}

const OPS = { email: 'ops@example.com', password: 'mamori-ops-demo-2026' }
const DEMO = { tenant: 'demo', admin: 'admin@demo.example', adminPassword: 'mamori-admin-demo-2026', member: 'user@demo.example', memberPassword: 'mamori-user-demo-2026' }

describe.skipIf(!found)('console in Chromium', () => {
  let base: string
  let stopServer: () => void
  let browser: Browser
  let evil: Server
  let evilOrigin: string

  /** The newest 6-digit code mailed to `to`, from the dev mailbox. */
  async function mailedCode(to: string, after: number): Promise<string> {
    for (let i = 0; i < 40; i++) {
      const { items } = (await (await fetch(`${base}/dev/mailbox`)).json()) as { items: { to: string; text: string; sent_at: string }[] }
      const mail = items.find((m) => m.to === to && Date.parse(m.sent_at) >= after - 1000)
      const code = mail?.text.match(/\b(\d{6})\b/)?.[1]
      if (code) return code
      await new Promise((r) => setTimeout(r, 250))
    }
    throw new Error(`no code mailed to ${to}`)
  }

  async function shot(page: Page, name: string) {
    await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true })
    // A long page also as its first screen, readable at full size.
    if (((await page.evaluate('document.documentElement.scrollHeight')) as number) > 2400) await page.screenshot({ path: `${ARTIFACTS}/${name}-top.png` })
  }

  async function signIn(context: BrowserContext, email: string, password: string, name: string) {
    const page = await context.newPage()
    await page.goto(`${base}/console/sign-in`)
    await page.getByLabel(/テナント ID|Tenant ID/).fill(DEMO.tenant)
    await page.getByLabel(/メールアドレス|E-mail/).fill(email)
    await page.getByLabel(/^(パスワード|Password)$/).fill(password)
    const started = Date.now()
    await page.getByRole('button', { name: /サインイン|Sign in/ }).click()
    await page.waitForLoadState()
    if (await page.locator('input[name="challenge"]').count()) {
      await shot(page, `${name}-mfa`)
      await page.getByLabel(/確認コード|Code/).fill(await mailedCode(email, started))
      await page.getByRole('button', { name: /確認|Verify/ }).click()
    }
    await page.waitForURL(`${base}/console`)
    return page
  }

  /** The operator signs in through the forms with the mailed code. */
  async function opsSignIn(context: BrowserContext) {
    const page = await context.newPage()
    await page.goto(`${base}/ops/console/sign-in`)
    await page.getByLabel(/メールアドレス/).fill(OPS.email)
    await page.getByLabel(/^パスワード$/).fill(OPS.password)
    const started = Date.now()
    await page.getByRole('button', { name: 'サインイン' }).click()
    await page.getByLabel('確認コード').fill(await mailedCode(OPS.email, started))
    await page.getByRole('button', { name: '確認' }).click()
    await page.waitForURL(`${base}/ops/console`)
    return page
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    type DevServer = { base: string; stop: () => void }
    const devServerModule: string = '../../bench/dev-server.mjs'
    const { startDevServer } = (await import(devServerModule)) as { startDevServer: (o: { port: number; state: string }) => Promise<DevServer> }
    const server = await startDevServer({ port: 8795, state: '.wrangler/browser-test-state' })
    base = server.base
    stopServer = server.stop
    // The demo admin signs in with a mailed code: the tenant's policy asks for one (set through the API).
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant: DEMO.tenant, email: DEMO.admin, password: DEMO.adminPassword }),
    })
    const { token } = (await login.json()) as { token: string }
    const policy = await fetch(`${base}/api/v1/policy`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ mfa_required: { admin: true } }),
    })
    expect(policy.status).toBe(200)
    // Another site (another origin: localhost, not 127.0.0.1) whose page posts a form to the console.
    evil = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html')
      res.end(
        `<!doctype html><form id="f" method="post" action="${base}/console/users"><input name="email" value="evil@example.com"><input name="name" value="Evil"><input name="role" value="admin"><button>go</button></form>`,
      )
    })
    await new Promise<void>((resolve) => evil.listen(0, 'localhost', resolve))
    evilOrigin = `http://localhost:${(evil.address() as AddressInfo).port}`
    const { chromium } = await import('playwright-core')
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    evil?.close()
    stopServer?.()
  })

  it('an admin signs in with the mailed code, creates a user, filters the audit log by its ID and downloads the ledger CSV', async () => {
    const context = await browser.newContext({ locale: 'ja-JP', acceptDownloads: true })
    const signInPage = await context.newPage()
    await signInPage.goto(`${base}/console/sign-in`)
    await shot(signInPage, 'sign-in')
    await signInPage.close()
    const page = await signIn(context, DEMO.admin, DEMO.adminPassword, 'admin')
    await shot(page, 'dashboard')
    const cookie = (await context.cookies()).find((c) => c.name === '__Host-mamori_console')
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' })

    await page.getByRole('link', { name: 'ユーザー' }).click()
    const email = `browser-${Date.now()}@demo.example`
    await page.getByLabel('メールアドレス').fill(email)
    await page.getByLabel('氏名').fill('Browser Test')
    await page.getByLabel('ロール').selectOption('member')
    await page.getByLabel(/^download/).check()
    await page.getByRole('button', { name: 'ユーザーを追加' }).click()
    expect((await page.getByTestId('temporary-password').textContent())!.length).toBeGreaterThan(10)
    await shot(page, 'users-created')

    await page.getByRole('link', { name: 'Browser Test' }).click()
    const userId = (await page.getByTestId('user-id').textContent())!.trim()
    expect(userId).toMatch(/^usr_/)
    await shot(page, 'user-detail')

    await page.getByRole('link', { name: '監査ログ', exact: true }).click()
    await page.getByLabel('対象 ID').fill(userId)
    await page.getByRole('button', { name: '絞り込む' }).click()
    await page.waitForURL(/target=/)
    const rows = page.locator('tbody tr')
    expect(await rows.count()).toBeGreaterThan(0)
    for (const text of await rows.allTextContents()) expect(text).toContain(userId)
    expect(await page.locator('tbody').textContent()).toContain('user.create')
    await shot(page, 'audit-filtered')

    await page.getByRole('link', { name: 'アカウント台帳' }).click()
    await shot(page, 'ledger')
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV をダウンロード' }).click()])
    expect(download.suggestedFilename()).toMatch(/^account-ledger-\d{4}-\d{2}-\d{2}\.csv$/)
    const path = `${ARTIFACTS}/ledger.csv`
    await download.saveAs(path)
    const { readFileSync } = await import('node:fs')
    expect(readFileSync(path, 'utf8')).toContain(email)

    await page.getByRole('link', { name: 'セッション' }).click()
    await shot(page, 'sessions')
    const help = await context.newPage()
    await help.goto(`${base}/help`)
    await shot(help, 'help-ja')
    await help.goto(`${base}/help?lang=en`)
    await shot(help, 'help-en')
    await context.close()
  }, 120_000)

  it('an admin opens the policy, second factor, records, files, SLA and support pages', async () => {
    const context = await browser.newContext({ locale: 'ja-JP' })
    const page = await signIn(context, DEMO.admin, DEMO.adminPassword, 'admin-pages')
    await page.getByRole('link', { name: 'ポリシー' }).click()
    expect(await page.getByLabel('パスワードの最小文字数').inputValue()).toMatch(/^\d+$/)
    await shot(page, 'policy')
    // The field's min stops the browser first; without that check the server's 422 still refuses it.
    await page.getByLabel('パスワードの最小文字数').fill('6')
    await page.locator('form.stack').evaluate((form) => form.setAttribute('novalidate', ''))
    await page.getByRole('button', { name: 'ポリシーを保存' }).click()
    expect(await page.locator('.flash.error').textContent()).toContain('The platform minimum is 8 characters.')
    await shot(page, 'policy-refused')

    await page.getByRole('link', { name: 'レコード' }).click()
    await page.getByLabel('コレクション', { exact: true }).last().fill('customers')
    await page.getByLabel('データ（JSON）').fill('{"name": "Acme", "tier": "gold"}')
    await page.getByRole('button', { name: 'レコードを追加' }).click()
    await page.waitForURL(/\/console\/records\/rec_/)
    await shot(page, 'record-detail')
    await page.getByRole('link', { name: '戻る' }).click()
    expect(await page.locator('tbody').textContent()).toContain('Acme')
    await shot(page, 'records')

    await page.getByRole('link', { name: 'ファイル' }).click()
    await page.getByLabel('ファイル', { exact: true }).setInputFiles({ name: 'report.txt', mimeType: 'text/plain', buffer: Buffer.from('monthly report') })
    await page.getByRole('button', { name: 'ファイルをアップロード' }).click()
    await page.waitForURL(/done=uploaded/)
    expect(await page.locator('tbody').textContent()).toContain('report.txt')
    await shot(page, 'files')

    await page.getByRole('link', { name: 'SLA レポート' }).click()
    expect(await page.locator('tbody tr').count()).toBeGreaterThan(20)
    await shot(page, 'sla-tenant')

    await page.getByRole('link', { name: 'サポートアクセス' }).click()
    await page.getByRole('button', { name: 'サポートアクセスを許可' }).click()
    expect(await page.getByTestId('support-status').textContent()).toContain('許可中')
    await shot(page, 'support')

    await page.getByRole('link', { name: '2 段階認証' }).click()
    await shot(page, 'mfa')
    const started = Date.now()
    let code = ''
    if (await page.getByRole('button', { name: '確認コードをメールで送る' }).count()) {
      await page.getByRole('button', { name: '確認コードをメールで送る' }).click()
      code = await mailedCode(DEMO.admin, started)
    }
    await page.locator('#totp-current_password').fill(DEMO.adminPassword)
    if (code) await page.locator('#totp-code').fill(code)
    await page.getByRole('button', { name: '認証アプリを登録する' }).click()
    expect(await page.locator('.qr svg').count()).toBe(1)
    const box = await page.locator('.qr svg').boundingBox()
    expect(box!.width).toBeGreaterThan(150)
    await shot(page, 'mfa-totp-qr')

    const missing = await page.goto(`${base}/console/no-such-page`)
    expect(missing!.status()).toBe(404)
    expect(await page.textContent('main')).toContain('ページが見つかりません。')
    await shot(page, 'not-found')
    await context.close()
  }, 120_000)

  it('an operator signs in with the mailed code and opens the tenants, calendar, announcements, incidents, SLA and audit pages', async () => {
    const context = await browser.newContext({ locale: 'ja-JP' })
    const page = await context.newPage()
    await page.goto(`${base}/ops/console/sign-in`)
    await shot(page, 'ops-sign-in')
    await page.getByLabel(/メールアドレス/).fill(OPS.email)
    await page.getByLabel(/^パスワード$/).fill(OPS.password)
    const started = Date.now()
    await page.getByRole('button', { name: 'サインイン' }).click()
    await page.getByLabel('確認コード').fill(await mailedCode(OPS.email, started))
    await page.getByRole('button', { name: '確認' }).click()
    await page.waitForURL(`${base}/ops/console`)
    const cookie = (await context.cookies()).find((c) => c.name === '__Host-mamori_ops')
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' })
    expect(await page.locator('tbody').textContent()).toContain('demo')
    await shot(page, 'ops-tenants')
    await page.getByRole('link', { name: 'demo', exact: true }).click()
    await shot(page, 'ops-tenant-detail')

    await page.getByRole('link', { name: 'メンテナンス予定' }).click()
    await page.getByLabel('開始（JST）').fill(new Date(Date.now() + 2 * 86_400_000 + 9 * 3_600_000).toISOString().slice(0, 16))
    await page.getByRole('button', { name: 'メンテナンスを予定する' }).click()
    expect(await page.locator('.flash.error').textContent()).toContain('7 days')
    await shot(page, 'ops-windows-refused')
    await page.getByLabel('緊急', { exact: true }).check()
    await page.getByLabel('緊急の理由').fill('Urgent security patch')
    await page.getByRole('button', { name: 'メンテナンスを予定する' }).click()
    await page.waitForURL(/done=scheduled/)
    expect(await page.locator('main').textContent()).toContain('Urgent security patch')
    await shot(page, 'ops-windows')
    // The window's own change form, prefilled: shorten it.
    const change = page.locator('details[id^="change-"]').first()
    await change.locator('summary').click()
    expect(await change.getByLabel('緊急の理由').inputValue()).toBe('Urgent security patch')
    await change.getByLabel('時間（分）').fill('30')
    await shot(page, 'ops-windows-change')
    await change.getByRole('button', { name: /^変更する/ }).click()
    await page.waitForURL(/done=changed/)
    expect(await page.locator('.flash.ok').textContent()).toContain('変更しました')

    await page.getByRole('link', { name: 'お知らせ' }).click()
    await page.getByLabel('実施日時（JST）').fill(new Date(Date.now() + 10 * 86_400_000 + 9 * 3_600_000).toISOString().slice(0, 16))
    await page.getByLabel('件名').fill('Version 2.1')
    await page.getByLabel('本文').fill('New export options.\nNo downtime expected.')
    await page.getByRole('button', { name: 'お知らせを作成' }).click()
    await page.waitForURL(/done=created/)
    expect(await page.locator('tbody').textContent()).toContain('Version 2.1')
    await shot(page, 'ops-announcements')

    await page.getByRole('link', { name: 'インシデント' }).click()
    await page.getByLabel('件名').fill('Slow uploads')
    await page.getByLabel('内容').fill('Uploads take long for some tenants.')
    await page.getByRole('button', { name: 'インシデントを起票' }).click()
    await page.waitForURL(/done=opened/)
    await shot(page, 'ops-incidents')

    await page.getByRole('link', { name: 'SLA レポート' }).click()
    expect(await page.locator('tbody tr').count()).toBeGreaterThan(20)
    await shot(page, 'ops-sla')
    const checklist = await context.newPage()
    await checklist.goto(`${base}/ops/console/sla/checklist?format=html&lang=ja`)
    await shot(checklist, 'ops-checklist-ja')

    await page.getByRole('link', { name: '監査ログ' }).click()
    expect(await page.locator('tbody tr').count()).toBeGreaterThan(0)
    await shot(page, 'ops-audit')

    await page.getByRole('link', { name: '運用者', exact: true }).click()
    expect(await page.getByRole('button', { name: `ロックを解除: ${OPS.email}` }).count()).toBe(1)
    await shot(page, 'ops-operators')
    await page.getByRole('link', { name: '鍵', exact: true }).click()
    await page.getByRole('button', { name: 'ローテーションを実行' }).click()
    expect(await page.getByTestId('rotation-result').textContent()).toContain('残り')
    await shot(page, 'ops-keys')
    const missing = await page.goto(`${base}/ops/console/nothing`)
    expect(missing!.status()).toBe(404)
    await context.close()
  }, 120_000)

  it('a member cannot reach the admin pages, and reads English once its own setting says so', async () => {
    const context = await browser.newContext({ locale: 'en-US' })
    const page = await signIn(context, DEMO.member, DEMO.memberPassword, 'member')
    // The tenant speaks Japanese; the member's own setting, not the browser, changes that.
    await page.goto(`${base}/console/settings`)
    await page.getByLabel(/表示とメールの言語|Language of pages and mail/).selectOption('en')
    await page.getByRole('button', { name: /保存|Save/ }).click()
    await page.waitForURL(/done=saved/)
    expect(await page.getAttribute('html', 'lang')).toBe('en')
    await shot(page, 'member-settings')
    await page.getByRole('link', { name: 'Dashboard' }).click()
    await shot(page, 'member-dashboard')
    expect(await page.getByRole('link', { name: 'Users' }).count()).toBe(0)
    expect(await page.getByRole('link', { name: 'Audit log' }).count()).toBe(0)
    expect(await page.getByRole('link', { name: 'Backups' }).count()).toBe(0)
    const response = await page.goto(`${base}/console/users`)
    expect(response!.status()).toBe(403)
    expect(await page.textContent('main')).toContain('You may not see this page.')
    await shot(page, 'member-forbidden')
    // Back to following the tenant, so a later run starts the same.
    await page.goto(`${base}/console/settings`)
    await page.getByLabel('Language of pages and mail').selectOption('')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.waitForURL(/done=saved/)
    expect(await page.getAttribute('html', 'lang')).toBe('ja')
    await context.close()
  }, 60_000)

  it('a form posted from another site is refused and changes nothing', async () => {
    const context = await browser.newContext({ locale: 'ja-JP' })
    await signIn(context, DEMO.admin, DEMO.adminPassword, 'admin-again')
    const page = await context.newPage()
    await page.goto(evilOrigin)
    const [response] = await Promise.all([page.waitForNavigation(), page.click('button')])
    expect(response!.status()).toBe(403)
    expect(await page.textContent('main')).toContain('別のサイトから送信された')
    await shot(page, 'cross-site-refused')
    const users = await context.newPage()
    await users.goto(`${base}/console/users`)
    expect(await users.textContent('main')).not.toContain('evil@example.com')
    await context.close()
  }, 60_000)

  it('an operator backs up a tenant, refuses a restore whose confirmation does not match, and terminates a tenant with its certificate shown', async () => {
    const context = await browser.newContext({ locale: 'ja-JP' })
    const page = await opsSignIn(context)
    await page.getByRole('link', { name: 'demo', exact: true }).click()
    const listUrl = `${base}/ops/console/backups?tenant_id=${(await page.getByTestId('tenant-id').textContent())!.trim()}`
    await page.getByRole('link', { name: 'このテナントのバックアップ' }).click()
    await page.getByRole('button', { name: 'このテナントのバックアップを今すぐ取得' }).click()
    expect(await page.locator('.flash.ok').textContent()).toContain('バックアップを開始しました')
    const complete = page.locator('tbody td').filter({ hasText: /^完了$/ })
    for (let i = 0; i < 60 && !(await complete.count()); i++) {
      await new Promise((r) => setTimeout(r, 500))
      await page.goto(listUrl)
    }
    expect(await complete.count()).toBeGreaterThan(0)
    await shot(page, 'ops-backups')
    await page.getByRole('button', { name: '検証' }).first().click()
    expect(await page.locator('.flash.ok').textContent()).toContain('正常です')
    await shot(page, 'ops-backups-verified')
    await page.getByRole('link', { name: '復元…' }).first().click()
    await shot(page, 'ops-restore-choose')
    await page.getByRole('button', { name: '確認へ進む' }).first().click()
    await page.getByLabel('確認のため、バックアップ ID を入力してください').fill('not-the-id')
    await page.getByRole('button', { name: '復元する' }).click()
    expect(await page.locator('.flash.error').first().textContent()).toContain('確認の入力が一致しないため、復元しませんでした。')
    await shot(page, 'ops-restore-refused')

    // A tenant made for the purpose, terminated behind its typed slug.
    await page.getByRole('link', { name: 'テナント', exact: true }).click()
    const slug = `gone${Date.now().toString(36)}`
    await page.getByLabel('テナント ID（スラッグ）').fill(slug)
    await page.getByLabel('テナント名').fill('Short-lived')
    await page.getByLabel('連絡先メールアドレス').fill(`it@${slug}.example`)
    await page.getByLabel('管理者のメールアドレス').fill(`boss@${slug}.example`)
    await page.getByLabel('管理者の氏名').fill('Boss')
    await page.getByRole('button', { name: 'テナントを作成' }).click()
    await page.getByRole('link', { name: slug, exact: true }).click()
    await page.getByRole('link', { name: 'テナントを解約（データ消去）…' }).click()
    await page.getByLabel('確認のため、テナント ID（slug）を入力してください').fill(`${slug}-typo`)
    await page.getByRole('button', { name: '解約してデータを消去する' }).click()
    expect(await page.locator('.flash.error').first().textContent()).toContain('何も消去しませんでした')
    await shot(page, 'ops-terminate-confirm')
    await page.getByLabel('確認のため、テナント ID（slug）を入力してください').fill(slug)
    await page.getByRole('button', { name: '解約してデータを消去する' }).click()
    await page.waitForURL(/\/certificate$/)
    expect((await page.getByTestId('certificate').textContent())!.split('.')).toHaveLength(3)
    expect(await page.locator('main').textContent()).toContain('30 日間保持します')
    await shot(page, 'ops-certificate')
    const jwks = await page.request.get(`${base}/.well-known/jwks.json`)
    expect(jwks.status()).toBe(200)
    await context.close()
  }, 120_000)

  it('an operator turns maintenance on and the tenant’s page shows the maintenance page; off again, the page is back', async () => {
    const tenantContext = await browser.newContext({ locale: 'ja-JP' })
    const tenantPage = await signIn(tenantContext, DEMO.admin, DEMO.adminPassword, 'admin-maintenance')
    const context = await browser.newContext({ locale: 'ja-JP' })
    const page = await opsSignIn(context)
    await page.getByRole('link', { name: 'メンテナンスフラグ' }).click()
    await shot(page, 'ops-maintenance-off')
    try {
      await page.locator('#global-message').fill('データベースの更新作業を行っています。')
      await page.locator('#global-until').fill(new Date(Date.now() + 3_600_000 + 9 * 3_600_000).toISOString().slice(0, 16))
      await page.getByRole('button', { name: '全テナントをメンテナンス中にする' }).click()
      await page.waitForURL(/done=on/)
      await shot(page, 'ops-maintenance-on')
      const refused = await tenantPage.goto(`${base}/console`)
      expect(refused!.status()).toBe(503)
      expect(refused!.headers()['retry-after']).toMatch(/^\d+$/)
      expect(await tenantPage.textContent('h1')).toBe('メンテナンス中')
      expect(await tenantPage.textContent('main')).toContain('データベースの更新作業を行っています。')
      expect(await tenantPage.textContent('main')).toMatch(/終了予定: \d{4}-\d{2}-\d{2} \d{2}:\d{2} JST/)
      await shot(tenantPage, 'maintenance-page')
      const signInPage = await tenantPage.goto(`${base}/console/sign-in?lang=en`)
      expect(signInPage!.status()).toBe(503)
      await shot(tenantPage, 'maintenance-page-en')
      // The operator console keeps working meanwhile.
      expect((await page.goto(`${base}/ops/console`))!.status()).toBe(200)
    } finally {
      await page.goto(`${base}/ops/console/maintenance`)
      const off = page.getByRole('button', { name: '全テナントのメンテナンスを解除する' })
      if (await off.count()) {
        await off.click()
        await page.waitForURL(/done=off/)
      }
    }
    expect((await tenantPage.goto(`${base}/console`))!.status()).toBe(200)
    await context.close()
    await tenantContext.close()
  }, 120_000)

  it('an admin sees the last backup on the dashboard and opens the backups, incidents and settings pages', async () => {
    const context = await browser.newContext({ locale: 'ja-JP' })
    const page = await signIn(context, DEMO.admin, DEMO.adminPassword, 'admin-backups')
    expect(await page.getByTestId('last-backup').textContent()).toContain('のバックアップ')
    await shot(page, 'dashboard-backup')
    const nav = page.getByRole('navigation', { name: 'メインメニュー' })
    await nav.getByRole('link', { name: 'バックアップ', exact: true }).click()
    expect(await page.locator('tbody tr').count()).toBeGreaterThan(0)
    await shot(page, 'backups')
    await nav.getByRole('link', { name: 'インシデント', exact: true }).click()
    await shot(page, 'incidents')
    await nav.getByRole('link', { name: '設定', exact: true }).click()
    expect(await page.getByLabel('テナントの言語').inputValue()).toBe('ja')
    await shot(page, 'settings')
    await context.close()
  }, 120_000)

})
