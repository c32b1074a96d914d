import { SELF, env } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { auditEventHash, type StoredAuditEvent } from '../src/lib/audit-hash'
import { database } from '../src/db/client'
import { exportAudit, verifyAuditChain } from '../src/services/audit/audit'
import { ORIGIN, call, expectProblem, operator, tenantWithAdmin, userOf, type TestTenant } from './helpers'

let acme: TestTenant

beforeAll(async () => {
  acme = await tenantWithAdmin()
})

async function writeRecords(tenant: TestTenant, n: number) {
  const replies = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection: 'burst', data: { i } } }),
    ),
  )
  expect(replies.map((r) => r.status)).toEqual(Array(n).fill(201))
  return replies.map((r) => r.body.id as string)
}

type Link = { seq: number; prev_hash: string; hash: string }

async function chainOf(tenantId: string) {
  return (await env.DB.prepare('SELECT seq, prev_hash, hash FROM audit_events WHERE chain = ? ORDER BY seq').bind(tenantId).all<Link>())
    .results
}

/**
 * An attacker with raw database access: the append-only trigger is the first
 * thing they would drop, so the tests drop it too before tampering.
 */
async function asAttacker(sql: string, ...params: unknown[]) {
  await env.DB.prepare('DROP TRIGGER IF EXISTS audit_events_no_update').run()
  await env.DB.prepare(sql).bind(...params).run()
}

describe('audit chain', () => {
  it('leaves one unbroken chain after 20 concurrent record writes', async () => {
    const tenant = await tenantWithAdmin()
    const ids = await writeRecords(tenant, 20)
    const chain = await chainOf(tenant.id)
    expect(chain.map((l) => l.seq)).toEqual(Array.from({ length: chain.length }, (_, i) => i + 1))
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.prev_hash).toBe(chain[i - 1]!.hash)
    const creates = await env.DB.prepare(
      "SELECT target_id FROM audit_events WHERE chain = ? AND action = 'record.create'",
    )
      .bind(tenant.id)
      .all<{ target_id: string }>()
    expect(creates.results.map((r) => r.target_id).sort()).toEqual([...ids].sort())
    const verified = await call('GET', '/api/v1/audit/verify', { token: tenant.adminToken })
    expect(verified.body).toEqual({ chain: tenant.id, ok: true, checked: chain.length, head: { seq: chain.length, hash: chain.at(-1)!.hash }, problem: null })
  })

  it('reports an intact chain while other writes are landing', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 5)
    const [verified] = await Promise.all([verifyAuditChain(env, tenant.id), writeRecords(tenant, 6)])
    expect(verified).toMatchObject({ ok: true, problem: null })
  })

  it('refuses any UPDATE of an audit event at the database level', async () => {
    await expect(env.DB.prepare("UPDATE audit_events SET outcome = 'success' WHERE chain = ?").bind(acme.id).run()).rejects.toThrow(
      /append-only/,
    )
  })

  it('detects an event whose content was changed in place', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 3)
    const target = (await chainOf(tenant.id))[2]!
    await asAttacker("UPDATE audit_events SET actor_id = 'usr_someoneelse' WHERE chain = ? AND seq = ?", tenant.id, target.seq)
    expect(await verifyAuditChain(env, tenant.id)).toMatchObject({
      ok: false,
      problem: { seq: target.seq, reason: 'event content does not match its hash' },
    })
  })

  it('detects an event rewritten with a correctly recomputed hash, by the broken link after it', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 3)
    const victim = (await env.DB.prepare('SELECT * FROM audit_events WHERE chain = ? AND seq = 2').bind(tenant.id).first<StoredAuditEvent>())!
    const { hash: _old, ...content } = { ...victim, outcome: 'failure' }
    await asAttacker("UPDATE audit_events SET outcome = 'failure', hash = ? WHERE id = ?", await auditEventHash(content), victim.id)
    expect(await verifyAuditChain(env, tenant.id)).toMatchObject({
      ok: false,
      checked: 2,
      problem: { seq: 3, reason: 'link to the previous event is broken' },
    })
  })

  it('detects an event deleted from the middle', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 3)
    await asAttacker('DELETE FROM audit_events WHERE chain = ? AND seq = 3', tenant.id)
    expect(await verifyAuditChain(env, tenant.id)).toMatchObject({ ok: false, checked: 2, problem: { seq: 3, reason: 'event 3 is missing' } })
  })

  it('detects events deleted from the end, against the head the sequencer anchored', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 3)
    const length = (await chainOf(tenant.id)).length
    await asAttacker('DELETE FROM audit_events WHERE chain = ? AND seq > ?', tenant.id, length - 2)
    expect(await verifyAuditChain(env, tenant.id)).toMatchObject({
      ok: false,
      checked: length - 2,
      head: { seq: length },
      problem: { seq: length - 1 },
    })
  })

  it('keeps extending the anchored chain after a tail deletion, so the gap stays visible', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 2)
    const length = (await chainOf(tenant.id)).length
    await asAttacker('DELETE FROM audit_events WHERE chain = ? AND seq = ?', tenant.id, length)
    await writeRecords(tenant, 1)
    const seqs = (await chainOf(tenant.id)).map((l) => l.seq)
    expect(seqs.at(-1)).toBe(length + 1)
    expect(await verifyAuditChain(env, tenant.id)).toMatchObject({ ok: false, problem: { seq: length, reason: `event ${length} is missing` } })
  })

  it('reports the tampering through the admin API too', async () => {
    const tenant = await tenantWithAdmin()
    await asAttacker("UPDATE audit_events SET ip = '203.0.113.9' WHERE chain = ? AND seq = 1", tenant.id)
    const reply = await call('GET', '/api/v1/audit/verify', { token: tenant.adminToken })
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ ok: false, problem: { seq: 1 } })
  })
})

describe('audit search', () => {
  it('filters by action, actor, target and category, newest first', async () => {
    const [id] = await writeRecords(acme, 1)
    const removed = await call('DELETE', `/api/v1/records/${id}`, { token: acme.adminToken })
    expect(removed.status).toBe(204)
    const byTarget = await call('GET', `/api/v1/audit?target=${id}`, { token: acme.adminToken })
    expect(byTarget.body.items.map((e: { action: string }) => e.action)).toEqual(['record.delete', 'record.create'])
    const byAction = await call('GET', '/api/v1/audit?action=record.delete', { token: acme.adminToken })
    expect(byAction.body.items.every((e: { action: string }) => e.action === 'record.delete')).toBe(true)
    const byActor = await call('GET', `/api/v1/audit?actor=${acme.adminId}&category=authentication`, { token: acme.adminToken })
    expect(byActor.body.items.length).toBeGreaterThan(0)
    for (const e of byActor.body.items) expect(e).toMatchObject({ actor_id: acme.adminId, category: 'authentication' })
  })

  it('filters by time window', async () => {
    const [id] = await writeRecords(acme, 1)
    const event = (await call('GET', `/api/v1/audit?target=${id}`, { token: acme.adminToken })).body.items[0]
    const at = Date.parse(event.at)
    const inside = await call(
      'GET',
      `/api/v1/audit?target=${id}&since=${new Date(at).toISOString()}&until=${new Date(at + 1).toISOString()}`,
      { token: acme.adminToken },
    )
    expect(inside.body.items.map((e: { id: string }) => e.id)).toEqual([event.id])
    const before = await call('GET', `/api/v1/audit?target=${id}&until=${new Date(at).toISOString()}`, { token: acme.adminToken })
    expect(before.body.items).toEqual([])
  })

  it('pages through events with a cursor without repeating or skipping', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 7)
    const all = (await call('GET', '/api/v1/audit?limit=200', { token: tenant.adminToken })).body.items.map((e: { id: string }) => e.id)
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const reply: { body: { items: { id: string }[]; next_cursor: string | null } } = await call(
        'GET',
        `/api/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        { token: tenant.adminToken },
      )
      seen.push(...reply.body.items.map((e) => e.id))
      cursor = reply.body.next_cursor
    } while (cursor)
    expect(seen).toEqual(all)
  })

  it('shows a tenant only its own events', async () => {
    const other = await tenantWithAdmin()
    const mine = await call('GET', '/api/v1/audit?limit=200', { token: acme.adminToken })
    expect(mine.body.items.every((e: { tenant_id: string }) => e.tenant_id === acme.id)).toBe(true)
    const theirs = await call('GET', `/api/v1/audit?actor=${other.adminId}`, { token: acme.adminToken })
    expect(theirs.body.items).toEqual([])
  })

  it('lets operators search every chain, and filter to one tenant', async () => {
    const ops = await operator()
    const platform = await call('GET', '/ops/v1/audit?action=operator.bootstrap', { token: ops })
    expect(platform.body.items).toHaveLength(1)
    expect(platform.body.items[0]).toMatchObject({ chain: 'platform', tenant_id: null, outcome: 'success' })
    const one = await call('GET', `/ops/v1/audit?tenant_id=${acme.id}&limit=200`, { token: ops })
    expect(one.body.items.length).toBeGreaterThan(0)
    expect(one.body.items.every((e: { tenant_id: string }) => e.tenant_id === acme.id)).toBe(true)
    const verified = await call('GET', '/ops/v1/audit/verify?chain=platform', { token: ops })
    expect(verified.body).toMatchObject({ chain: 'platform', ok: true })
    expectProblem(await call('GET', '/ops/v1/audit/verify?chain=anything', { token: ops }), 422, 'validation')
  })

  it('withholds the details of tenant users\u2019 events from operators unless the tenant grants support access', async () => {
    const ops = await operator()
    const tenant = await tenantWithAdmin()
    const [id] = await writeRecords(tenant, 1)
    const find = async () =>
      (await call('GET', `/ops/v1/audit?tenant_id=${tenant.id}&target=${id}`, { token: ops })).body.items[0]
    expect(await find()).toMatchObject({ action: 'record.create', actor_id: tenant.adminId, details: { withheld: 'support access not granted' } })
    const created = (await call('GET', `/ops/v1/audit?tenant_id=${tenant.id}&action=tenant.create`, { token: ops })).body.items[0]
    expect(created.details).toMatchObject({ slug: tenant.slug })
    expect((await call('POST', '/api/v1/support-access', { token: tenant.adminToken, body: { hours: 1 } })).status).toBe(200)
    expect((await find()).details).toEqual({ collection: 'burst' })
  })

})

describe('audit export', () => {
  it('streams every matching event as NDJSON, newest first, and records the export as a data extraction', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 3)
    const listed = (await call('GET', '/api/v1/audit?action=record.create&limit=200', { token: tenant.adminToken })).body.items
    const res = await SELF.fetch(`${ORIGIN}/api/v1/audit/export?action=record.create`, { headers: { Authorization: `Bearer ${tenant.adminToken}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toBe('application/x-ndjson; charset=utf-8')
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l))
    expect(lines).toEqual(listed)
    const exported = (await call('GET', '/api/v1/audit?action=audit.export', { token: tenant.adminToken })).body.items[0]
    expect(exported).toMatchObject({ category: 'data_extraction', actor_id: tenant.adminId, details: { format: 'ndjson', filter: { action: 'record.create' } } })
  })

  it('exports CSV with a byte order mark, a header row and one row per event', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 2)
    const res = await SELF.fetch(`${ORIGIN}/api/v1/audit/export?format=csv&action=record.create`, {
      headers: { Authorization: `Bearer ${tenant.adminToken}` },
    })
    const bytes = new Uint8Array(await res.arrayBuffer())
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const rows = new TextDecoder().decode(bytes).trim().split('\r\n')
    // TextDecoder drops the BOM, which the byte check above already saw.
    expect(rows[0]).toBe('id,at,tenant_id,actor_type,actor_id,action,category,target_type,target_id,request_id,ip,user_agent,outcome,details,seq,prev_hash,hash')
    expect(rows).toHaveLength(3)
    expect(rows[1]).toContain(',record.create,data_change,record,')
  })

  it('exports the whole trail, the export\u2019s own event included', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 12)
    const before = (await call('GET', '/api/v1/audit?limit=200', { token: tenant.adminToken })).body.items.length
    const res = await SELF.fetch(`${ORIGIN}/api/v1/audit/export`, { headers: { Authorization: `Bearer ${tenant.adminToken}` } })
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l))
    expect(lines).toHaveLength(before + 1)
    expect(lines[0].action).toBe('audit.export')
  })

  it('streams page after page without repeating or skipping an event', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 7)
    const all = (await call('GET', '/api/v1/audit?limit=200', { token: tenant.adminToken })).body.items.map((e: { id: string }) => e.id)
    const text = await new Response(exportAudit(database(env), tenant.id, {}, 'ndjson', 3)).text()
    expect(text.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(all)
  })

  it('refuses members, who lack audit:read', async () => {
    const tenant = await tenantWithAdmin()
    const member = await userOf(tenant)
    expectProblem(await call('GET', '/api/v1/audit/export', { token: member.token }), 403, 'forbidden')
  })
})
