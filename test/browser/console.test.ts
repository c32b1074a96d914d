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

  it('a member cannot reach the admin pages', async () => {
    const context = await browser.newContext({ locale: 'en-US' })
    const page = await signIn(context, DEMO.member, DEMO.memberPassword, 'member')
    await shot(page, 'member-dashboard')
    expect(await page.getByRole('link', { name: 'Users' }).count()).toBe(0)
    expect(await page.getByRole('link', { name: 'Audit log' }).count()).toBe(0)
    const response = await page.goto(`${base}/console/users`)
    expect(response!.status()).toBe(403)
    expect(await page.textContent('main')).toContain('You may not see this page.')
    await shot(page, 'member-forbidden')
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
})
