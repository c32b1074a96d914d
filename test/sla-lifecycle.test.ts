import { SELF } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { ORIGIN, call, operator, tenantWithAdmin, userOf, type TestTenant } from './helpers'

/** The SLA rows of the data lifecycle this build has: export (DM-7), termination and its certificate (DM-2, SE-35/37), and the help page (GE-1/2). */

type Report = { rows: Array<Record<string, any>> }
const rowOf = (body: Report, id: string) => body.rows.find((r) => r.id === id)!

let ops: string
let t: TestTenant

beforeAll(async () => {
  ops = await operator()
  t = await tenantWithAdmin()
})

async function report(path: string, token: string): Promise<Report> {
  const reply = await call('GET', path, { token })
  expect(reply.status, JSON.stringify(reply.body)).toBe(200)
  return reply.body
}

describe('DM-2, SE-35/37: termination and its certificate', () => {
  it('names the signing key published at /.well-known/jwks.json and counts this month\u2019s terminations', async () => {
    const gone = await tenantWithAdmin()
    const erased = await call('DELETE', `/ops/v1/tenants/${gone.id}`, { token: ops })
    expect(erased.status).toBe(200)
    const jwks = await call('GET', '/.well-known/jwks.json')
    const kid = jwks.body.keys[0].kid
    const body = await report('/ops/v1/sla', ops)
    for (const id of ['DM-2', 'SE-35/37']) {
      expect(rowOf(body, id), id).toMatchObject({ status: 'met', value: { signing_key_id: kid, terminations_this_month: { requested: 1, erased: 1 } } })
      expect(rowOf(body, id).note.en).toMatch(/30 days/)
    }
    expect(rowOf(body, 'DM-2').summary.en).toContain('1 termination requested, 1 completed')
    // A tenant's own view states the mechanism, not other tenants' terminations.
    const own = rowOf(await report('/api/v1/sla', t.adminToken), 'DM-2')
    expect(own).toMatchObject({ status: 'met', value: { signing_key_id: kid } })
    expect(own.value.terminations_this_month).toBeUndefined()
  })
})

describe('DM-7 and SE-38: the whole-data export', () => {
  it('counts this tenant\u2019s exports this month, as data extractions too', async () => {
    const exporter = await userOf(t, 'admin', ['export'])
    const before = rowOf(await report('/api/v1/sla', t.adminToken), 'SE-38').value.data_extractions_this_month
    const exported = await SELF.fetch(`${ORIGIN}/api/v1/export`, { headers: { Authorization: `Bearer ${exporter.token}` } })
    expect(exported.status).toBe(200)
    expect((await exported.text()).trim().split('\n').at(-1)).toBe('{"complete":true}')
    const body = await report('/api/v1/sla', t.adminToken)
    expect(rowOf(body, 'DM-7')).toMatchObject({ status: 'met', value: { exports_this_month: 1 } })
    expect(rowOf(body, 'SE-38').value.data_extractions_this_month).toBe(before + 1)
    expect(rowOf(body, 'SE-38').note).toBeNull()
  })
})

describe('GE-1/2: the help page', () => {
  it('is met by /help, which answers in both languages', async () => {
    expect(rowOf(await report('/api/v1/sla', t.adminToken), 'GE-1/2')).toMatchObject({ status: 'met', value: { path: '/help', languages: ['ja', 'en'] } })
    for (const lang of ['ja', 'en']) {
      const page = await call('GET', `/help?lang=${lang}`)
      expect(page.status, lang).toBe(200)
    }
  })
})
