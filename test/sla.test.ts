import { SELF, env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { database } from '../src/db/client'
import { REQUIREMENTS, SEED_CHECKLIST } from '../src/services/sla/catalogue/catalogue.generated'
import { CHECKLIST_EN } from '../src/services/sla/catalogue/checklist-en'
import { slaReport } from '../src/services/sla/report'
import { ORIGIN, call, expectProblem, operator, parseCsv, tenantWithAdmin, userOf, type TestTenant, type TestUser } from './helpers'

/** A download as raw bytes (Response.text() would swallow the byte order mark). */
async function download(path: string, token: string) {
  const res = await SELF.fetch(`${ORIGIN}${path}`, { headers: { Authorization: `Bearer ${token}` } })
  const bytes = new Uint8Array(await res.arrayBuffer())
  return { status: res.status, headers: res.headers, bytes, text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes) }
}

async function report(token: string, query = '') {
  const reply = await call('GET', `/api/v1/sla${query}`, { token })
  expect(reply.status, JSON.stringify(reply.body)).toBe(200)
  return reply.body as { rows: Array<Record<string, any>>; [k: string]: any }
}

const rowOf = (body: { rows: Array<Record<string, any>> }, id: string) => body.rows.find((r) => r.id === id)!

async function setPolicy(t: TestTenant, body: unknown) {
  const reply = await call('PUT', '/api/v1/policy', { token: t.adminToken, body })
  expect(reply.status, JSON.stringify(reply.body)).toBe(200)
}

/** The JST month `offset` months from now, as YYYY-MM. */
function jstMonth(offset: number) {
  const jst = new Date(Date.now() + 9 * 3_600_000)
  const d = new Date(Date.UTC(jst.getUTCFullYear(), jst.getUTCMonth() + offset, 1))
  return d.toISOString().slice(0, 7)
}

const CHECKLIST_HEADER_JA = ['種別', 'サービスレベル項目例', '規程内容', '測定単位', '回答']
const CHECKLIST_HEADER_EN = ['Category', 'Service level item', 'Description', 'Unit', 'Answer']

let a: TestTenant
let b: TestTenant
let member: TestUser
let ops: string

beforeAll(async () => {
  ops = await operator()
  a = await tenantWithAdmin()
  b = await tenantWithAdmin()
  member = await userOf(a)
})

describe('GET /api/v1/sla', () => {
  it('has one row per requirement of REQUIREMENTS.md, in its order, with its ID, category, commitment and a status', async () => {
    const body = await report(a.adminToken)
    expect(body).toMatchObject({ scope: 'tenant', tenant_id: a.id, month: jstMonth(0) })
    expect(body.rows.map((r) => r.id)).toEqual(REQUIREMENTS.map((r) => r.id))
    expect(body.rows).toHaveLength(73)
    // Cross-check against the seed: the rows' IDs cover exactly the seed rows' IDs.
    expect(new Set(body.rows.flatMap((r) => r.covers))).toEqual(new Set(SEED_CHECKLIST.map((r) => r.single)))
    for (const [i, row] of body.rows.entries()) {
      expect(row).toMatchObject({ category: REQUIREMENTS[i]!.areaName, commitment: REQUIREMENTS[i]!.commitment, in_software: REQUIREMENTS[i]!.inSoftware })
      expect(['met', 'not_met', 'not_yet_measured', 'organisational']).toContain(row.status)
      expect(row.summary.en.length * row.summary.ja.length, row.id).toBeGreaterThan(0)
    }
    const counts = body.counts as Record<string, number>
    expect(Object.values(counts).reduce((s, n) => s + n, 0)).toBe(73)
    expect(counts.not_yet_measured).toBe(body.rows.filter((r) => r.status === 'not_yet_measured').length)
    expect(body.period).toEqual({ from: expect.stringMatching(/T15:00:00\.000Z$/), until: expect.stringMatching(/T15:00:00\.000Z$/) })
  })

  it('reads live evidence for every row but PF-1 (benchmark) and, before any snapshot, PF-3; a tenant with no backup yet is not_met', async () => {
    const body = await report(a.adminToken)
    // No snapshot has run in this file's storage: the backup rows say so instead of claiming anything.
    for (const id of ['DM-1', 'DM-3', 'AV-6']) expect(rowOf(body, id).status, id).toBe('not_met')
    expect(rowOf(body, 'DM-1').value).toMatchObject({ last_complete_at: null, generations: 0 })
    expect(rowOf(body, 'PF-3')).toMatchObject({ status: 'not_yet_measured', value: null, evidence: {} })
    expect(body.rows.filter((r) => r.status === 'not_yet_measured').map((r) => r.id)).toEqual(['PF-1', 'PF-3'])
    for (const id of ['DM-10', 'SE-11']) expect(rowOf(body, id).status, id).toBe('met')
    for (const id of ['AV-1', 'AV-2', 'AV-3', 'AV-5', 'AV-9', 'AV-10', 'AV-11', 'RE-2', 'RE-3', 'SE-28', 'SE-30', 'SE-31/45/46', 'SE-32', 'DM-2', 'DM-7', 'SE-35/37', 'GE-1/2', 'RE-4/5/6', 'RE-7', 'PF-2', 'SE-40', 'GE-4/6']) {
      expect(rowOf(body, id).status, id).toBe('met')
      expect(rowOf(body, id).value, id).not.toBeNull()
    }
    // No incident this month: nothing to repair, so no mean time to repair either.
    expect(rowOf(body, 'RE-1')).toMatchObject({ status: 'met', value: null })
    // Availability is measured (operations module): a month with no incident is fully available.
    expect(rowOf(body, 'AV-5').status).not.toBe('not_yet_measured')
  })

  it('gives organisational rows their stated answer from the seed', async () => {
    const body = await report(a.adminToken)
    expect(rowOf(body, 'AV-4')).toMatchObject({ status: 'organisational', value: ['ソフトウェアエスクロウ契約可能'], summary: { en: 'Software escrow agreement possible', ja: 'ソフトウェアエスクロウ契約可能' } })
    expect(rowOf(body, 'SE-2/3/4/6').value).toEqual(['有、ISMS認証を取得済み', '実施を予定', '十分に配慮し確保', '無'])
    expect(rowOf(body, 'SU-1/2')).toMatchObject({ status: 'organisational' })
  })

  it('shows the password maximum ages in force: 20 and 45 days once the policy sets them', async () => {
    const t = await tenantWithAdmin()
    const before = await report(t.adminToken)
    expect(rowOf(before, 'SE-13')).toMatchObject({ status: 'met', value: 30, evidence: { max_age_days: 30, platform_max_age_days: 30, policy_saved_at: null } })
    expect(rowOf(before, 'SE-19')).toMatchObject({ value: 90 })
    expect(rowOf(before, 'EX-1').value).toEqual({ customised: [] })
    await setPolicy(t, { password_max_age_days: { admin: 20, member: 45 } })
    const after = await report(t.adminToken)
    expect(rowOf(after, 'SE-13')).toMatchObject({ status: 'met', value: 20, evidence: { max_age_days: 20, policy_saved_at: expect.any(String) } })
    expect(rowOf(after, 'SE-13').summary.en).toMatch(/^Admin passwords must change every 20 days \(platform maximum 30\)/)
    expect(rowOf(after, 'SE-13').summary.ja).toMatch(/^管理者パスワードの変更期限 20日/)
    expect(rowOf(after, 'SE-19')).toMatchObject({ value: 45 })
    expect(rowOf(after, 'EX-1').value).toEqual({ customised: ['password_max_age_days'] })
  })

  it('shows the minimum password length in force (SE-15/20) and the session cap (EX-3)', async () => {
    const t = await tenantWithAdmin()
    await setPolicy(t, { password_min_length: 14, sessions_per_account: 3 })
    const body = await report(t.adminToken)
    expect(rowOf(body, 'SE-15/20')).toMatchObject({ status: 'met', value: { min_length: 14, history: 5 } })
    expect(rowOf(body, 'EX-3')).toMatchObject({ status: 'met', value: { seats: 50, seats_used: 1, concurrent_sessions: 100, sessions_live: 1, sessions_per_account: 3 } })
  })

  it('turns SE-16 from not_met to met once the policy requires a second factor for admins', async () => {
    const t = await tenantWithAdmin()
    const before = await report(t.adminToken)
    expect(rowOf(before, 'SE-16')).toMatchObject({
      status: 'not_met',
      value: { ip_allowlist_ranges: 0, client_cert_required: false, mfa_required: false },
      note: { en: expect.stringContaining('PUT /api/v1/policy') },
    })
    await setPolicy(t, { mfa_required: { admin: true } })
    const after = await report(t.adminToken)
    expect(rowOf(after, 'SE-16')).toMatchObject({ status: 'met', value: { mfa_required: true }, note: null })
    expect(rowOf(after, 'SE-21')).toMatchObject({ status: 'not_met' })
  })

  it('counts what the accounts hold now: download grants (SE-18), passwords past their age (SE-13), seats (EX-3)', async () => {
    const t = await tenantWithAdmin()
    const downloader = await userOf(t, 'member', ['records:read', 'download'])
    await env.DB.prepare('UPDATE users SET password_changed_at = ? WHERE id = ?').bind(new Date(Date.now() - 40 * 86_400_000).toISOString(), t.adminId).run()
    const body = await report(t.adminToken)
    expect(rowOf(body, 'SE-18').value).toEqual({ accounts_with_download: 1, accounts_with_export: 0 })
    expect(rowOf(body, 'SE-13').evidence).toMatchObject({ active_accounts: 1, accounts_past_max_age: 1 })
    expect(rowOf(body, 'SE-19').evidence).toMatchObject({ active_accounts: 1, accounts_past_max_age: 0 })
    expect(rowOf(body, 'SE-12/17').value).toEqual({ admins: 1, members: 1 })
    expect(rowOf(body, 'EX-3').value).toMatchObject({ seats_used: 2 })
    expect(downloader.id).toMatch(/^usr_/)
  })

  it('counts the month’s events in the month only: a forced reset shows this month and not last month', async () => {
    const t = await tenantWithAdmin()
    const user = await userOf(t)
    expect((await call('POST', `/api/v1/users/${user.id}/reset-password`, { token: t.adminToken })).status).toBe(200)
    const now = await report(t.adminToken)
    expect(rowOf(now, 'SE-14').value).toEqual({ resets_this_month: 1, accounts_awaiting_change: 1 })
    const last = await report(t.adminToken, `?month=${jstMonth(-1)}`)
    expect(last.month).toBe(jstMonth(-1))
    expect(rowOf(last, 'SE-14').value).toEqual({ resets_this_month: 0, accounts_awaiting_change: 1 })
    expect(rowOf(last, 'RE-8').evidence.events_this_month).toBe(0)
  })

  it('answers a past month with its JST bounds', async () => {
    const body = await report(a.adminToken, '?month=2025-01')
    expect(body).toMatchObject({ month: '2025-01', period: { from: '2024-12-31T15:00:00.000Z', until: '2025-01-31T15:00:00.000Z' } })
    const dec = await report(a.adminToken, '?month=2025-12')
    expect(dec.period).toEqual({ from: '2025-11-30T15:00:00.000Z', until: '2025-12-31T15:00:00.000Z' })
  })

  it('refuses a malformed month, or one not begun yet, with 422', async () => {
    for (const month of ['2026-13', '2026-1', '26-01', 'abc', '1999-12', '2026-00', '', jstMonth(1), '2099-12']) {
      const reply = await call('GET', `/api/v1/sla?month=${encodeURIComponent(month)}`, { token: a.adminToken })
      expect(expectProblem(reply, 422, 'validation').errors[0].path, month).toBe('query.month')
      const csv = await call('GET', `/api/v1/sla/checklist?month=${encodeURIComponent(month)}`, { token: a.adminToken })
      expectProblem(csv, 422, 'validation')
    }
  })

  it('refuses members with 403, on the report and on the checklist', async () => {
    expectProblem(await call('GET', '/api/v1/sla', { token: member.token }), 403, 'forbidden')
    expectProblem(await call('GET', '/api/v1/sla/checklist?format=csv', { token: member.token }), 403, 'forbidden')
    expectProblem(await call('GET', '/api/v1/sla/checklist?format=html', { token: member.token }), 403, 'forbidden')
  })

  it('refuses unknown query parameters with 422 and tenant admins on the operator routes with 401', async () => {
    expectProblem(await call('GET', '/api/v1/sla?tenant_id=x', { token: a.adminToken }), 422, 'validation')
    expect((await call('GET', '/ops/v1/sla', { token: a.adminToken })).status).toBe(401)
  })
})

describe('the evidence is read live', () => {
  it('shows the audit chain as its sequencer anchored it, verified through what the last verify checked (RE-8, DM-8)', async () => {
    const t = await tenantWithAdmin()
    const before = rowOf(await report(t.adminToken), 'RE-8')
    expect(before).toMatchObject({ status: 'met', evidence: { chain: t.id, first_event_kept: true, verified_through_seq: null } })
    expect(before.evidence.head_seq).toBeGreaterThan(0)
    expect(before.evidence.events).toBe(before.evidence.head_seq)
    const verified = await call('GET', '/api/v1/audit/verify', { token: t.adminToken })
    expect(verified.body).toMatchObject({ ok: true, complete: true })
    const after = await report(t.adminToken)
    expect(rowOf(after, 'RE-8').evidence.verified_through_seq).toBe(verified.body.head.seq)
    expect(rowOf(after, 'DM-8').value).toEqual({ chain_events: verified.body.head.seq, verified_through_seq: verified.body.head.seq })
  })

  it('says not_met for RE-8 when the trail’s first event has been removed', async () => {
    const t = await tenantWithAdmin()
    await env.DB.prepare('DELETE FROM audit_events WHERE chain = ? AND seq = 1').bind(t.id).run()
    const row = rowOf(await report(t.adminToken), 'RE-8')
    expect(row).toMatchObject({ status: 'not_met', evidence: { first_event_kept: false, first_event_at: null }, note: { en: expect.stringContaining('first event is missing') } })
  })

  it('counts the TOTP secrets actually stored sealed, and says not_met for DM-4 when one is not', async () => {
    const t = await tenantWithAdmin()
    const started = await call('POST', '/api/v1/me/mfa/totp', { token: t.adminToken, body: { current_password: t.adminPassword } })
    expect(started.status).toBe(200)
    expect(rowOf(await report(t.adminToken), 'DM-4')).toMatchObject({ status: 'met', value: { algorithm: 'AES-256-GCM', totp_secrets: 1, sealed: 1 } })
    await env.DB.prepare("UPDATE mfa_factors SET secret = 'JBSWY3DPEHPK3PXP' WHERE account_id = ? AND kind = 'totp'").bind(t.adminId).run()
    const row = rowOf(await report(t.adminToken), 'DM-4')
    expect(row).toMatchObject({ status: 'not_met', value: { totp_secrets: 1, sealed: 0 } })
  })

  it('shows support access while it is granted (SE-26)', async () => {
    const t = await tenantWithAdmin()
    expect(rowOf(await report(t.adminToken), 'SE-26').value).toEqual({ granted: false, expires_at: null, support_reads_this_month: 0 })
    const granted = await call('POST', '/api/v1/support-access', { token: t.adminToken, body: { hours: 3 } })
    expect(granted.status).toBe(200)
    expect(rowOf(await report(t.adminToken), 'SE-26').value).toEqual({ granted: true, expires_at: granted.body.expires_at, support_reads_this_month: 0 })
  })

  it('reports the scrypt parameters new hashes get (SE-1)', async () => {
    const row = rowOf(await report(a.adminToken), 'SE-1')
    // The workers test project runs the cheap test profile (vitest.config.ts).
    expect(row).toMatchObject({ status: 'met', value: { algorithm: 'scrypt', N: 1024, r: 8, p: 1 } })
  })
})

describe('no other tenant’s values in a tenant’s report', () => {
  let other: TestTenant
  beforeAll(async () => {
    other = await tenantWithAdmin()
    await userOf(other, 'member', ['records:read', 'download', 'export'])
    await setPolicy(other, { password_max_age_days: { admin: 11 }, password_min_length: 17, mfa_required: { member: true } })
    expect((await call('POST', '/api/v1/support-access', { token: other.adminToken, body: { hours: 2 } })).status).toBe(200)
  })

  it('shows this tenant’s own policy, accounts and grants, not the other’s', async () => {
    const mine = await report(b.adminToken)
    expect(rowOf(mine, 'SE-13').value).toBe(30)
    expect(rowOf(mine, 'SE-15/20').value).toEqual({ min_length: 8, history: 5 })
    expect(rowOf(mine, 'SE-18').value).toEqual({ accounts_with_download: 0, accounts_with_export: 0 })
    expect(rowOf(mine, 'SE-26').value).toMatchObject({ granted: false })
    expect(rowOf(mine, 'SE-12/17').value).toEqual({ admins: 1, members: 0 })
    const theirs = await report(other.adminToken)
    expect(rowOf(theirs, 'SE-13').value).toBe(11)
    expect(rowOf(theirs, 'SE-26').value).toMatchObject({ granted: true })
  })

  it('never names the other tenant, in the JSON, the CSV or the HTML', async () => {
    const texts = [
      JSON.stringify(await report(b.adminToken)),
      (await download('/api/v1/sla/checklist?format=csv', b.adminToken)).text,
      (await download('/api/v1/sla/checklist?format=html&lang=en', b.adminToken)).text,
    ]
    for (const text of texts) {
      expect(text).toContain(b.id)
      expect(text).not.toContain(other.id)
      expect(text).not.toContain(other.slug)
      expect(text).not.toContain('11 days')
      expect(text).not.toContain('11日')
    }
  })

  it('gives an operator asking for a tenant exactly that tenant’s values', async () => {
    const reply = await call('GET', `/ops/v1/sla?tenant_id=${other.id}`, { token: ops })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ scope: 'tenant', tenant_id: other.id })
    expect(rowOf(reply.body, 'SE-13').value).toBe(11)
    expect(JSON.stringify(reply.body)).not.toContain(b.id)
  })
})

describe('GET /api/v1/sla/checklist', () => {
  let t: TestTenant
  beforeAll(async () => {
    t = await tenantWithAdmin()
    await setPolicy(t, { password_max_age_days: { admin: 20 } })
  })

  it('is a CSV Excel opens correctly: BOM, CRLF, the seed’s exact header, one row per seed row in its order', async () => {
    const csv = await download('/api/v1/sla/checklist?format=csv', t.adminToken)
    expect(csv.status).toBe(200)
    expect(csv.headers.get('Content-Type')).toBe('text/csv; charset=utf-8')
    expect(csv.headers.get('Content-Disposition')).toBe(`attachment; filename="sla-checklist-${t.slug}-${jstMonth(0)}-ja.csv"`)
    expect(csv.headers.get('Cache-Control')).toBe('no-store')
    expect([...csv.bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const rows = parseCsv(csv.text.slice(1))
    expect(rows[0]).toEqual(CHECKLIST_HEADER_JA)
    expect(rows).toHaveLength(SEED_CHECKLIST.length + 1)
    expect(rows.slice(1).map((r) => [r[0], r[1], r[2], r[3]])).toEqual(SEED_CHECKLIST.map((s) => [s.category, s.item, s.description, s.unit]))
    for (const row of rows) expect(row).toHaveLength(5)
  })

  it('fills the answer column from the live values, keeping the seed’s own answer next to them', async () => {
    const rows = parseCsv((await download('/api/v1/sla/checklist', t.adminToken)).text.slice(1)).slice(1)
    const answer = (single: string, nth = 0) => rows[SEED_CHECKLIST.map((s, i) => (s.single === single ? i : -1)).filter((i) => i >= 0)[nth]!]![4]!
    expect(answer('SE-13')).toMatch(/^有（現在: 管理者パスワードの変更期限 20日（プラットフォーム上限 30日）/)
    expect(answer('SE-19')).toMatch(/^有（現在: 利用者パスワードの変更期限 90日/)
    // Organisational rows keep their stated answer exactly.
    expect(answer('AV-4')).toBe('ソフトウェアエスクロウ契約可能')
    expect(answer('DM-6')).toBe(SEED_CHECKLIST.find((s) => s.single === 'DM-6')!.answer)
    // ... with a note where the software stops short of the promise.
    expect(answer('SE-10')).toMatch(/^アンチウィルスサービスを利用し、1 日 1 回スキャンを実施（注: 自前のサーバーを持たないため/)
    // Not met (no snapshot has run in this file's storage): the stated answer and what the evidence shows.
    expect(answer('DM-1').startsWith(`${SEED_CHECKLIST.find((s) => s.single === 'DM-1')!.answer}（未達: 毎日 04:00`)).toBe(true)
    expect(answer('DM-3')).toMatch(/^14世代（未達: 保持世代 0件/)
    // Not measured: the stated answer and why there is no value.
    expect(answer('PF-1')).toMatch(/（未計測: 応答時間はプロジェクトのベンチマーク/)
    // Both upgrade-policy rows carry AV-9's evidence.
    expect(answer('AV-9', 1)).toMatch(/^メールにて事前通知（現在: 稼働中のバージョン /)
    // The seed's AWS answers are not this service's: corrected, never copied.
    expect(rows.map((r) => r[4]).join('\n')).not.toMatch(/AWS|GuardDuty/)
  })

  it('is in English with lang=en: its header, the translated rows and the live values', async () => {
    const rows = parseCsv((await download('/api/v1/sla/checklist?format=csv&lang=en', t.adminToken)).text.slice(1))
    expect(rows[0]).toEqual(CHECKLIST_HEADER_EN)
    expect(rows).toHaveLength(SEED_CHECKLIST.length + 1)
    expect(rows.slice(1).map((r) => r[1])).toEqual(CHECKLIST_EN.map((r) => r.item))
    const se13 = rows[1 + SEED_CHECKLIST.findIndex((s) => s.single === 'SE-13')]!
    expect(se13[0]).toBe('Security')
    expect(se13[4]).toMatch(/^Yes \(Now: Admin passwords must change every 20 days/)
  })

  it('leaves no cell a spreadsheet would run as a formula', async () => {
    for (const lang of ['ja', 'en']) {
      const rows = parseCsv((await download(`/api/v1/sla/checklist?lang=${lang}`, t.adminToken)).text.slice(1))
      for (const cell of rows.flat()) expect(cell, cell).not.toMatch(/^[=+\-@\t\r]/)
    }
  })

  it('is a printable HTML page without scripts whose own CSP allows exactly its inline stylesheet', async () => {
    const page = await download('/api/v1/sla/checklist?format=html', t.adminToken)
    expect(page.status).toBe(200)
    expect(page.headers.get('Content-Type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('Content-Disposition')).toBeNull()
    expect(page.headers.get('X-Content-Type-Options')).toBe('nosniff')
    const html = page.text
    expect(html.startsWith('<!doctype html><html lang="ja">')).toBe(true)
    expect(html).not.toMatch(/<script/i)
    expect(html).not.toMatch(/\son[a-z]+=/i)
    expect(html).not.toMatch(/\sstyle=/i)
    expect(html).not.toMatch(/\s(src|href|action)=/i)
    expect(html).not.toMatch(/url\(/i)
    expect(html).toContain('@media print')
    const csp = page.headers.get('Content-Security-Policy')!
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]))
    expect(directives['default-src']).toEqual(["'none'"])
    expect(directives['script-src']).toEqual(["'none'"])
    expect(csp).not.toContain('unsafe')
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!)
    expect(styles).toHaveLength(1)
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(styles[0])))
    expect(directives['style-src']).toEqual([`'sha256-${btoa(String.fromCharCode(...digest))}'`])
    // One table row per seed row, category and item cells merged as in the seed.
    expect([...html.matchAll(/<tr class="(met|not_met|not_yet_measured|organisational)">/g)]).toHaveLength(SEED_CHECKLIST.length)
    expect(html).toContain('<td class="category" rowspan="12">可用性</td>')
    expect(html).toContain('<td class="item" rowspan="5">管理者アカウントの運用要件</td>')
    expect(html).toContain('管理者パスワードの変更期限 20日')
  })

  it('escapes what the tenant is called', async () => {
    const patched = await call('PATCH', `/ops/v1/tenants/${t.id}`, { token: ops, body: { name: '<b>Acme & "Co"</b>' } })
    expect(patched.status).toBe(200)
    const html = (await download('/api/v1/sla/checklist?format=html&lang=en', t.adminToken)).text
    expect(html).toContain('&lt;b&gt;Acme &amp; &quot;Co&quot;&lt;/b&gt;')
    expect(html).not.toContain('<b>')
  })
})

describe('GET /ops/v1/sla', () => {
  it('answers platform-wide from aggregates: every row, the platform maxima, how many tenants set stricter', async () => {
    await setPolicy(a, { password_max_age_days: { admin: 20 } })
    const reply = await call('GET', '/ops/v1/sla', { token: ops })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ scope: 'platform', tenant_id: null, month: jstMonth(0) })
    expect(reply.body.rows.map((r: { id: string }) => r.id)).toEqual(REQUIREMENTS.map((r) => r.id))
    const se13 = rowOf(reply.body, 'SE-13')
    expect(se13).toMatchObject({ status: 'met', value: 30 })
    expect(se13.evidence.tenants_with_shorter_age).toBeGreaterThanOrEqual(1)
    expect(se13.evidence.shortest_age_days).toBeLessThanOrEqual(20)
    expect(rowOf(reply.body, 'SE-16')).toMatchObject({ status: 'met', value: { operators_mfa_required: true } })
    expect(rowOf(reply.body, 'DM-1')).toMatchObject({ status: 'not_met', value: { last_complete_at: null, generations: 0 } })
    // Aggregates only: no tenant is named.
    expect(JSON.stringify(reply.body)).not.toContain(a.id)
  })

  it('gives the platform checklist as CSV and HTML', async () => {
    const csv = await download(`/ops/v1/sla/checklist?format=csv&month=${jstMonth(0)}`, ops)
    expect(csv.headers.get('Content-Disposition')).toBe(`attachment; filename="sla-checklist-platform-${jstMonth(0)}-ja.csv"`)
    const rows = parseCsv(csv.text.slice(1))
    expect(rows[0]).toEqual(CHECKLIST_HEADER_JA)
    expect(rows).toHaveLength(SEED_CHECKLIST.length + 1)
    const html = await download('/ops/v1/sla/checklist?format=html&lang=en', ops)
    expect(html.text).toContain('Whole platform')
    expect(html.text).not.toMatch(/<script/i)
  })

  it('gives one tenant’s checklist with tenant_id', async () => {
    const csv = await download(`/ops/v1/sla/checklist?tenant_id=${a.id}&format=csv`, ops)
    expect(csv.headers.get('Content-Disposition')).toBe(`attachment; filename="sla-checklist-${a.slug}-${jstMonth(0)}-ja.csv"`)
  })

  it('answers 404 for an unknown tenant and 422 for a malformed id or month', async () => {
    expectProblem(await call('GET', `/ops/v1/sla?tenant_id=tn_${'0'.repeat(26)}`, { token: ops }), 404, 'not-found')
    expectProblem(await call('GET', `/ops/v1/sla/checklist?tenant_id=tn_${'0'.repeat(26)}`, { token: ops }), 404, 'not-found')
    expectProblem(await call('GET', '/ops/v1/sla?tenant_id=nope', { token: ops }), 422, 'validation')
    expectProblem(await call('GET', '/ops/v1/sla?month=2026-13', { token: ops }), 422, 'validation')
  })
})

describe('what a report costs', () => {
  /** The DB binding with every prepared statement counted (drizzle prepares each query once). */
  function counted(db: D1Database) {
    let queries = 0
    const DB = new Proxy(db, {
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
    return { env: { ...env, DB }, queries: () => queries }
  }

  async function cost(tenantId: string | null) {
    const probe = counted(env.DB)
    await slaReport(probe.env, database(probe.env), tenantId)
    return probe.queries()
  }

  it('reads D1 a small fixed number of times, as many with many tenants as with few', async () => {
    const platform = await cost(null)
    const tenant = await cost(a.id)
    expect(platform).toBeLessThanOrEqual(20)
    expect(tenant).toBeLessThanOrEqual(20)
    for (let i = 0; i < 3; i++) {
      const t = await tenantWithAdmin()
      await userOf(t)
      await setPolicy(t, { mfa_required: { member: true } })
    }
    expect(await cost(null)).toBe(platform)
    expect(await cost(a.id)).toBe(tenant)
  })
})
