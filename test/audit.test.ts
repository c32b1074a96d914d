import { SELF, env, evictDurableObject, runInDurableObject } from 'cloudflare:test'
import { beforeAll, describe, expect, it } from 'vitest'
import { database } from '../src/db/client'
import { auditChainFor } from '../src/durable/audit-chain'
import { GENESIS_HASH, unkeyedAuditEventHash, type StoredAuditEvent } from '../src/lib/audit-hash'
import { sha256Hex } from '../src/lib/digest'
import { newId } from '../src/lib/ids'
import { AUDIT_ACTIONS, AUDIT_CATEGORIES } from '../src/schemas/audit'
import { AUDIT_EXPORT_LIMITS, audit, exportAudit, verifyAuditChain, type AuditEntry } from '../src/services/audit/audit'
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

type Link = { seq: number; prev_hash: string; hash: string; hash_alg: string }

async function chainOf(chain: string) {
  return (
    await env.DB.prepare('SELECT seq, prev_hash, hash, hash_alg FROM audit_events WHERE chain = ? ORDER BY seq').bind(chain).all<Link>()
  ).results
}

async function eventAt(chain: string, seq: number) {
  return (await env.DB.prepare('SELECT * FROM audit_events WHERE chain = ? AND seq = ?').bind(chain, seq).first<StoredAuditEvent>())!
}

async function recordCount(tenantId: string) {
  return (await env.DB.prepare('SELECT count(*) AS n FROM records WHERE tenant_id = ?').bind(tenantId).first<{ n: number }>())!.n
}

/**
 * An attacker with raw database access: the append-only trigger is the first
 * thing they would drop, so the tests drop it too before tampering (and put
 * it back after, so every other test still runs against it).
 */
async function asAttacker(sql: string, ...params: unknown[]) {
  await env.DB.prepare('DROP TRIGGER IF EXISTS audit_events_no_update').run()
  await env.DB.prepare(sql).bind(...params).run()
  await env.DB.prepare(
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
  ).run()
}

const COLUMNS = [
  'id', 'chain', 'seq', 'tenant_id', 'at', 'actor_type', 'actor_id', 'action', 'category', 'target_type', 'target_id',
  'request_id', 'service_request_id', 'ip', 'user_agent', 'outcome', 'details', 'prev_hash', 'hash', 'hash_alg',
] as const

/** Writes a row straight into D1, past the chain's sequencer. */
function insertEvent(event: StoredAuditEvent) {
  return env.DB.prepare(`INSERT INTO audit_events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`)
    .bind(...COLUMNS.map((c) => event[c]))
    .run()
}

/** An event as someone with D1 write access but not the key would make it: plain SHA-256. */
async function forgedEvent(chain: string, seq: number, prevHash: string, overrides: Partial<StoredAuditEvent> = {}): Promise<StoredAuditEvent> {
  const content = {
    id: newId('evt'), chain, seq, tenant_id: chain, at: new Date().toISOString(), actor_type: 'user', actor_id: null,
    action: 'record.create', category: 'data_change', target_type: 'record', target_id: null, request_id: 'forged-0001',
    service_request_id: null, ip: null, user_agent: null, outcome: 'success', details: '{}', prev_hash: prevHash, hash_alg: 'sha256',
    ...overrides,
  }
  return { ...content, hash: await unkeyedAuditEventHash(content) }
}

/**
 * A chain as it stood before chains were keyed: `n` events with unkeyed
 * SHA-256 hashes and no service request ID, on a chain whose sequencer has
 * never run (a tenant id no test uses otherwise).
 */
async function unkeyedChain(n: number) {
  const chain = newId('tn')
  let prev = GENESIS_HASH
  for (let seq = 1; seq <= n; seq++) {
    const event = await forgedEvent(chain, seq, prev, { actor_type: 'system', request_id: `before-keying-${seq}` })
    await insertEvent(event)
    prev = event.hash
  }
  return chain
}

const JOB_META = { requestId: 'test-append-0001', ip: null, userAgent: null }

/** Appends through the real sequencer, as any service does. */
function appendTo(chain: string) {
  return audit(env, JOB_META, { tenantId: chain, actor: { type: 'system', id: null }, action: 'record.create', outcome: 'success' })
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
    expect(verified.body).toEqual({
      chain: tenant.id,
      ok: true,
      checked: chain.length,
      from_seq: 1,
      complete: true,
      head: { seq: chain.length, hash: chain.at(-1)!.hash },
      problem: null,
    })
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

  it('detects an event rewritten with a recomputed plain SHA-256 by someone with D1 write access but not the key', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 3)
    const victim = await eventAt(tenant.id, 2)
    const { hash: _old, ...content } = { ...victim, outcome: 'failure' }
    await asAttacker("UPDATE audit_events SET outcome = 'failure', hash = ? WHERE id = ?", await unkeyedAuditEventHash(content), victim.id)
    expect(await verifyAuditChain(env, tenant.id)).toMatchObject({
      ok: false,
      checked: 1,
      problem: { seq: 2, reason: 'event content does not match its hash' },
    })
  })

  it('detects a rewritten event that claims to predate the keyed chain', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 3)
    const victim = await eventAt(tenant.id, 2)
    const { hash: _old, ...content } = { ...victim, outcome: 'failure', hash_alg: 'sha256' }
    await asAttacker(
      "UPDATE audit_events SET outcome = 'failure', hash_alg = 'sha256', hash = ? WHERE id = ?",
      await unkeyedAuditEventHash(content),
      victim.id,
    )
    expect(await verifyAuditChain(env, tenant.id)).toMatchObject({
      ok: false,
      problem: { seq: 2, reason: 'event claims an unkeyed hash, but the chain is keyed from event 1' },
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

describe('audit chain anchor', () => {
  it('refuses appends with 503 audit-chain-broken when, after a reload, D1 holds events past the anchored head that do not extend it', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 2)
    const head = (await chainOf(tenant.id)).at(-1)!
    // A rewritten tail one event longer than the anchor: it links to a rewritten event, not to the anchored head.
    await insertEvent(await forgedEvent(tenant.id, head.seq + 1, await sha256Hex('a rewritten event')))
    await evictDurableObject(auditChainFor(env, tenant.id))
    const records = await recordCount(tenant.id)
    const refused = await call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection: 'c', data: { n: 1 } } })
    expectProblem(refused, 503, 'audit-chain-broken')
    expect(refused.body.title).toBe('Audit trail unavailable')
    expect(await recordCount(tenant.id)).toBe(records)
    expect((await chainOf(tenant.id)).length).toBe(head.seq + 1)
    const verified = await call('GET', '/api/v1/audit/verify', { token: tenant.adminToken })
    expect(verified.body).toMatchObject({
      ok: false,
      head: { seq: head.seq, hash: head.hash },
      problem: { seq: head.seq + 1, reason: 'past the head its sequencer committed: link to the previous event is broken' },
    })
  })

  it('refuses an event that links to the anchored head but lacks a valid keyed hash', async () => {
    const tenant = await tenantWithAdmin()
    const head = (await chainOf(tenant.id)).at(-1)!
    await insertEvent(await forgedEvent(tenant.id, head.seq + 1, head.hash, { hash_alg: 'hmac-sha256' }))
    await evictDurableObject(auditChainFor(env, tenant.id))
    expectProblem(await call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection: 'c', data: {} } }), 503, 'audit-chain-broken')
    expect(await verifyAuditChain(env, tenant.id)).toMatchObject({
      ok: false,
      problem: { seq: head.seq + 1, reason: 'past the head its sequencer committed: event content does not match its hash' },
    })
  })

  it('refuses with 503, not 500, when an append finds its seq already taken in D1', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 1)
    const head = (await chainOf(tenant.id)).at(-1)!
    await insertEvent(await forgedEvent(tenant.id, head.seq + 1, head.hash))
    const records = await recordCount(tenant.id)
    expectProblem(await call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection: 'c', data: {} } }), 503, 'audit-chain-broken')
    expectProblem(await call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection: 'c', data: {} } }), 503, 'audit-chain-broken')
    expect(await recordCount(tenant.id)).toBe(records)
  })

  it('takes appends again once the rows written behind its back are gone, and the chain verifies', async () => {
    const tenant = await tenantWithAdmin()
    const head = (await chainOf(tenant.id)).at(-1)!
    await insertEvent(await forgedEvent(tenant.id, head.seq + 1, head.hash))
    expectProblem(await call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection: 'c', data: {} } }), 503, 'audit-chain-broken')
    await env.DB.prepare('DELETE FROM audit_events WHERE chain = ? AND seq > ?').bind(tenant.id, head.seq).run()
    await writeRecords(tenant, 1)
    const chain = await chainOf(tenant.id)
    expect(chain.at(-1)).toMatchObject({ seq: head.seq + 1, prev_hash: head.hash, hash_alg: 'hmac-sha256' })
    expect(await verifyAuditChain(env, tenant.id, { full: true })).toMatchObject({ ok: true, checked: head.seq + 1, problem: null })
  })

  it('adopts events past the anchored head after a reload when they extend it (a commit whose answer was lost)', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 2)
    const [before, last] = (await chainOf(tenant.id)).slice(-2)
    const stub = auditChainFor(env, tenant.id)
    // The sequencer never heard that `last` committed: its anchor is still the event before.
    await runInDurableObject(stub, (_instance, state) => state.storage.kv.put(`head:${tenant.id}`, { seq: before!.seq, hash: before!.hash }))
    await evictDurableObject(stub)
    await writeRecords(tenant, 1)
    expect((await chainOf(tenant.id)).at(-1)).toMatchObject({ seq: last!.seq + 1, prev_hash: last!.hash })
    expect(await verifyAuditChain(env, tenant.id)).toMatchObject({ ok: true, head: { seq: last!.seq + 1 }, problem: null })
  })
})

describe('audit chain anchored before keying', () => {
  it('refuses, at the first reload after keying is deployed, an unkeyed event forged past the old anchor', async () => {
    // Two events from before keying, anchored by the old sequencer, and a third written behind its back.
    const chain = await unkeyedChain(2)
    const [, second] = await chainOf(chain)
    await insertEvent(await forgedEvent(chain, 3, second!.hash, { tenant_id: chain, request_id: 'forged-after-anchor' }))
    const stub = auditChainFor(env, chain)
    await runInDurableObject(stub, (_instance, state) => state.storage.kv.put(`head:${chain}`, { seq: 2, hash: second!.hash }))
    await expect(appendTo(chain)).rejects.toMatchObject({ status: 503, type: 'audit-chain-broken' })
    expect((await chainOf(chain)).length).toBe(3)
    expect(await verifyAuditChain(env, chain, { full: true })).toMatchObject({ ok: false, problem: { seq: 3 } })
  })

  it('still adopts nothing and appends keyed events after the anchor when D1 holds no extra row', async () => {
    const chain = await unkeyedChain(2)
    const [, second] = await chainOf(chain)
    await runInDurableObject(auditChainFor(env, chain), (_instance, state) => state.storage.kv.put(`head:${chain}`, { seq: 2, hash: second!.hash }))
    expect((await appendTo(chain)).ok).toBe(true)
    expect((await chainOf(chain)).map((e) => e.hash_alg)).toEqual(['sha256', 'sha256', 'hmac-sha256'])
    expect(await verifyAuditChain(env, chain, { full: true })).toMatchObject({ ok: true, checked: 3, problem: null })
  })
})

describe('keyed audit chain', () => {
  it('hashes every new event with the chain\u2019s key', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 2)
    const chain = await chainOf(tenant.id)
    expect(chain.map((l) => l.hash_alg)).toEqual(Array(chain.length).fill('hmac-sha256'))
    const event = await eventAt(tenant.id, chain.length)
    const { hash, ...content } = event
    expect(hash).toMatch(/^[0-9a-f]{64}$/)
    expect(await unkeyedAuditEventHash(content)).not.toBe(hash)
  })

  it('verifies unkeyed events from before the switch-over followed by keyed ones, and records where it switched', async () => {
    const chain = await unkeyedChain(3)
    const third = await eventAt(chain, 3)
    await appendTo(chain)
    await appendTo(chain)
    expect((await chainOf(chain)).map((l) => [l.seq, l.hash_alg])).toEqual([
      [1, 'sha256'], [2, 'sha256'], [3, 'sha256'], [4, 'hmac-sha256'], [5, 'hmac-sha256'],
    ])
    expect((await eventAt(chain, 4)).prev_hash).toBe(third.hash)
    const keyedFrom = await runInDurableObject(auditChainFor(env, chain), (_instance, state) => state.storage.kv.get(`keyed-from:${chain}`))
    expect(keyedFrom).toBe(4)
    const verified = await call('GET', `/ops/v1/audit/verify?chain=${chain}`, { token: await operator() })
    expect(verified.body).toMatchObject({ chain, ok: true, checked: 5, from_seq: 1, complete: true, problem: null })
  })

  it('catches a consistent rewrite of every event from an unkeyed one on at the first keyed one, not only at the head', async () => {
    const chain = await unkeyedChain(3)
    await appendTo(chain)
    await appendTo(chain)
    // Events 2 to 5 rewritten and relinked with valid plain SHA-256, each keeping the algorithm it claimed.
    const originals = (await chainOf(chain)).slice(1)
    let prev = (await eventAt(chain, 1)).hash
    const rewritten: StoredAuditEvent[] = []
    for (const { seq, hash_alg } of originals) {
      const event = await forgedEvent(chain, seq, prev, { outcome: 'failure', hash_alg })
      rewritten.push(event)
      prev = event.hash
    }
    await env.DB.prepare('DELETE FROM audit_events WHERE chain = ? AND seq > 1').bind(chain).run()
    for (const event of rewritten) await insertEvent(event)
    expect(await verifyAuditChain(env, chain)).toMatchObject({
      ok: false,
      checked: 3,
      problem: { seq: 4, reason: 'event content does not match its hash' },
    })
  })

  it('refuses an event that claims a keyed hash from before the switch-over', async () => {
    const chain = await unkeyedChain(2)
    await appendTo(chain)
    const one = await eventAt(chain, 1)
    await asAttacker("UPDATE audit_events SET hash_alg = 'hmac-sha256' WHERE id = ?", one.id)
    expect(await verifyAuditChain(env, chain)).toMatchObject({
      ok: false,
      problem: { seq: 1, reason: 'event claims a keyed hash from before the chain was keyed' },
    })
  })
})

describe('verification checkpoints', () => {
  it('checks only what is new since the last verified checkpoint', async () => {
    const tenant = await tenantWithAdmin()
    const first = await verifyAuditChain(env, tenant.id)
    const length = (await chainOf(tenant.id)).length
    expect(first).toMatchObject({ ok: true, checked: length, from_seq: 1, complete: true })
    await writeRecords(tenant, 3)
    expect(await verifyAuditChain(env, tenant.id)).toMatchObject({ ok: true, checked: 3, from_seq: length + 1, complete: true })
    expect(await verifyAuditChain(env, tenant.id)).toMatchObject({ ok: true, checked: 0, from_seq: length + 4, complete: true })
  })

  it('still notices a change to the checkpoint\u2019s own event', async () => {
    const tenant = await tenantWithAdmin()
    await verifyAuditChain(env, tenant.id)
    const head = (await chainOf(tenant.id)).at(-1)!
    await asAttacker("UPDATE audit_events SET ip = '203.0.113.9' WHERE chain = ? AND seq = ?", tenant.id, head.seq)
    expect(await verifyAuditChain(env, tenant.id)).toMatchObject({
      ok: false,
      problem: { seq: head.seq, reason: 'the event at the last verified checkpoint: event content does not match its hash' },
    })
  })

  it('re-walks from the first event with full=true, finding a change the incremental check does not revisit', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 2)
    await verifyAuditChain(env, tenant.id)
    await asAttacker("UPDATE audit_events SET ip = '203.0.113.9' WHERE chain = ? AND seq = 2", tenant.id)
    const incremental = await call('GET', '/api/v1/audit/verify', { token: tenant.adminToken })
    expect(incremental.body).toMatchObject({ ok: true, checked: 0 })
    const full = await call('GET', '/api/v1/audit/verify?full=true', { token: tenant.adminToken })
    expect(full.status).toBe(200)
    expect(full.body).toMatchObject({ ok: false, from_seq: 1, checked: 1, problem: { seq: 2, reason: 'event content does not match its hash' } })
    expectProblem(await call('GET', '/api/v1/audit/verify?full=yes', { token: tenant.adminToken }), 422, 'validation')
  })

  it('stops at its per-call budget with complete: false and goes on from there at the next call', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 6)
    const total = (await chainOf(tenant.id)).length
    const runs = []
    for (let i = 0; i < 20; i++) {
      const run = await verifyAuditChain(env, tenant.id, { pageSize: 2, maxPages: 2 })
      runs.push(run)
      if (run.complete) break
    }
    expect(runs.length).toBe(Math.ceil(total / 4))
    expect(runs.map((r) => r.from_seq)).toEqual(runs.map((_, i) => 1 + 4 * i))
    for (const run of runs.slice(0, -1)) expect(run).toMatchObject({ ok: true, complete: false, checked: 4, problem: null })
    expect(runs.at(-1)).toMatchObject({ ok: true, complete: true, problem: null })
    expect(runs.reduce((n, r) => n + r.checked, 0)).toBe(total)
  })

  it('resumes a full re-walk across calls too, without moving the incremental checkpoint back', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 6)
    const total = (await chainOf(tenant.id)).length
    await verifyAuditChain(env, tenant.id)
    const runs = []
    for (let i = 0; i < 20; i++) {
      const run = await verifyAuditChain(env, tenant.id, { full: true, pageSize: 2, maxPages: 2 })
      runs.push(run)
      expect(await verifyAuditChain(env, tenant.id)).toMatchObject({ ok: true, checked: 0, from_seq: total + 1 })
      if (run.complete) break
    }
    expect(runs.map((r) => r.from_seq)).toEqual(runs.map((_, i) => 1 + 4 * i))
    expect(runs.reduce((n, r) => n + r.checked, 0)).toBe(total)
    // Finished, the next full check starts from the first event again.
    expect(await verifyAuditChain(env, tenant.id, { full: true })).toMatchObject({ ok: true, from_seq: 1, checked: total })
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
    expect(rows[0]).toBe(
      'id,at,tenant_id,actor_type,actor_id,action,category,target_type,target_id,request_id,ip,user_agent,outcome,details,seq,prev_hash,hash,service_request_id,hash_alg',
    )
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
    const { body } = await exportAudit(database(env), tenant.id, {}, 'ndjson', undefined, { pageSize: 3 })
    const text = await new Response(body).text()
    expect(text.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(all)
  })

  it('refuses members, who lack audit:read', async () => {
    const tenant = await tenantWithAdmin()
    const member = await userOf(tenant)
    expectProblem(await call('GET', '/api/v1/audit/export', { token: member.token }), 403, 'forbidden')
  })
})

describe('long exports', () => {
  async function exportIds(tenantId: string, cursor?: string) {
    const part = await exportAudit(database(env), tenantId, {}, 'ndjson', cursor, { pageSize: 2, maxPages: 2 })
    const text = await new Response(part.body).text()
    return { ids: text.trim().split('\n').map((l) => JSON.parse(l).id as string), nextCursor: part.nextCursor }
  }

  it('ends a part at the per-response limit with a resume cursor, and the parts together are the whole trail', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 7)
    const all = (await call('GET', '/api/v1/audit?limit=200', { token: tenant.adminToken })).body.items.map((e: { id: string }) => e.id)
    const parts: string[][] = []
    let cursor: string | undefined
    do {
      const part = await exportIds(tenant.id, cursor)
      parts.push(part.ids)
      cursor = part.nextCursor ?? undefined
    } while (cursor && parts.length < 20)
    expect(parts.length).toBe(Math.ceil(all.length / 4))
    for (const part of parts.slice(0, -1)) expect(part).toHaveLength(4)
    expect(parts.flat()).toEqual(all)
  })

  it('tells an HTTP client through X-Next-Cursor and Link where the next part starts, in NDJSON and CSV', async () => {
    const tenant = await tenantWithAdmin()
    await writeRecords(tenant, 6)
    const listed = (await call('GET', '/api/v1/audit?action=record.create&limit=200', { token: tenant.adminToken })).body.items.map(
      (e: { id: string }) => e.id,
    )
    const saved = { ...AUDIT_EXPORT_LIMITS }
    Object.assign(AUDIT_EXPORT_LIMITS, { pageSize: 2, maxPages: 2 })
    try {
      const get = (path: string) => SELF.fetch(`${ORIGIN}${path}`, { headers: { Authorization: `Bearer ${tenant.adminToken}` } })
      const first = await get('/api/v1/audit/export?action=record.create')
      expect(first.status).toBe(200)
      const cursor = first.headers.get('X-Next-Cursor')
      expect(cursor).toEqual(expect.any(String))
      expect(first.headers.get('Link')).toBe(`</api/v1/audit/export?action=record.create&cursor=${cursor}>; rel="next"`)
      const firstIds = (await first.text()).trim().split('\n').map((l) => JSON.parse(l).id)
      const second = await get(first.headers.get('Link')!.slice(1, first.headers.get('Link')!.indexOf('>')))
      expect(second.headers.get('X-Next-Cursor')).toBeNull()
      expect(second.headers.get('Link')).toBeNull()
      const secondIds = (await second.text()).trim().split('\n').map((l) => JSON.parse(l).id)
      expect([...firstIds, ...secondIds]).toEqual(listed)

      const csv = await get('/api/v1/audit/export?action=record.create&format=csv')
      expect(csv.headers.get('X-Next-Cursor')).toEqual(expect.any(String))
      const rows = (await csv.text()).trim().split('\r\n')
      expect(rows).toHaveLength(1 + 4)
      const rest = await get(`/api/v1/audit/export?action=record.create&format=csv&cursor=${csv.headers.get('X-Next-Cursor')}`)
      expect((await rest.text()).trim().split('\r\n')).toHaveLength(1 + 2)
    } finally {
      Object.assign(AUDIT_EXPORT_LIMITS, saved)
    }
    const exports = (await call('GET', '/api/v1/audit?action=audit.export', { token: tenant.adminToken })).body.items
    expect(exports).toHaveLength(4)
    expect(exports.filter((e: { details: { cursor?: string } }) => e.details.cursor)).toHaveLength(2)
  })

  it('sends no X-Next-Cursor when the response holds the rest of the trail', async () => {
    const tenant = await tenantWithAdmin()
    const res = await SELF.fetch(`${ORIGIN}/api/v1/audit/export`, { headers: { Authorization: `Bearer ${tenant.adminToken}` } })
    expect(res.status).toBe(200)
    expect(res.headers.get('X-Next-Cursor')).toBeNull()
    expect(res.headers.get('Link')).toBeNull()
    await res.text()
  })

  it('refuses a cursor it did not issue with 422, recording no export', async () => {
    const tenant = await tenantWithAdmin()
    const count = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE chain = ? AND action = 'audit.export'").bind(tenant.id).first<{ n: number }>())!.n
    expectProblem(await call('GET', '/api/v1/audit/export?cursor=bm90LWFuLWlk', { token: tenant.adminToken }), 422, 'validation')
    expect(await count()).toBe(0)
  })
})

describe('request IDs in the audit trail', () => {
  const record = (token: string, headers: Record<string, string> = {}) =>
    call('POST', '/api/v1/records', { token, body: { collection: 'trace', data: {} }, headers })

  it('keeps a caller-sent X-Request-Id, records the service\u2019s own ID beside it, and finds events by either', async () => {
    const tenant = await tenantWithAdmin()
    const shared = `shared-${crypto.randomUUID()}`
    const one = await record(tenant.adminToken, { 'X-Request-Id': shared })
    const two = await record(tenant.adminToken, { 'X-Request-Id': shared })
    expect([one.headers.get('X-Request-Id'), two.headers.get('X-Request-Id')]).toEqual([shared, shared])
    const byCaller = (await call('GET', `/api/v1/audit?request_id=${shared}`, { token: tenant.adminToken })).body.items
    expect(byCaller.map((e: { target_id: string }) => e.target_id)).toEqual([two.body.id, one.body.id])
    const [second, first] = byCaller as { request_id: string; service_request_id: string }[]
    for (const e of [first!, second!]) {
      expect(e.request_id).toBe(shared)
      expect(e.service_request_id).toMatch(/^req_[0-9a-hjkmnp-tv-z]{26}$/)
    }
    expect(first!.service_request_id).not.toBe(second!.service_request_id)
    const byOwn = (await call('GET', `/api/v1/audit?request_id=${first!.service_request_id}`, { token: tenant.adminToken })).body.items
    expect(byOwn.map((e: { target_id: string }) => e.target_id)).toEqual([one.body.id])
    const ops = (await call('GET', `/ops/v1/audit?request_id=${second!.service_request_id}`, { token: await operator() })).body.items
    expect(ops.map((e: { target_id: string }) => e.target_id)).toEqual([two.body.id])
  })

  it('records the one generated ID as both when the caller sends none', async () => {
    const tenant = await tenantWithAdmin()
    const reply = await record(tenant.adminToken)
    const id = reply.headers.get('X-Request-Id')!
    expect(id).toMatch(/^req_/)
    const events = (await call('GET', `/api/v1/audit?request_id=${id}`, { token: tenant.adminToken })).body.items
    expect(events).toEqual([expect.objectContaining({ target_id: reply.body.id, request_id: id, service_request_id: id })])
  })
})

describe('audit categories', () => {
  it('files every action in the table under one of the five categories', () => {
    const actions = Object.entries(AUDIT_ACTIONS)
    expect(actions.length).toBeGreaterThan(30)
    for (const [action, category] of actions) {
      expect(action).toMatch(/^[a-z]+\.[a-z_]+$/)
      expect(AUDIT_CATEGORIES).toContain(category)
    }
  })

  it('files operators\u2019 reads of tenant data, downloads and exports as data extractions, and file changes as data changes', () => {
    expect({
      'support.read': AUDIT_ACTIONS['support.read'],
      'file.download': AUDIT_ACTIONS['file.download'],
      'audit.export': AUDIT_ACTIONS['audit.export'],
      'ledger.export': AUDIT_ACTIONS['ledger.export'],
      'file.upload': AUDIT_ACTIONS['file.upload'],
      'file.replace': AUDIT_ACTIONS['file.replace'],
      'file.delete': AUDIT_ACTIONS['file.delete'],
    }).toEqual({
      'support.read': 'data_extraction',
      'file.download': 'data_extraction',
      'audit.export': 'data_extraction',
      'ledger.export': 'data_extraction',
      'file.upload': 'data_change',
      'file.replace': 'data_change',
      'file.delete': 'data_change',
    })
  })

  it('refuses an action missing from the table at the type check', () => {
    const entry: AuditEntry = {
      tenantId: null,
      actor: { type: 'system', id: null },
      // @ts-expect-error: an action the table does not list
      action: 'support.peek',
      outcome: 'success',
    }
    expect(Object.hasOwn(AUDIT_ACTIONS, entry.action)).toBe(false)
  })

  it('shows a tenant filtering category=data_extraction its operators\u2019 support reads, refused and granted', async () => {
    const tenant = await tenantWithAdmin()
    const ops = await operator()
    expect((await call('GET', `/ops/v1/tenants/${tenant.id}/records`, { token: ops })).status).toBe(403)
    expect((await call('POST', '/api/v1/support-access', { token: tenant.adminToken, body: { hours: 1 } })).status).toBe(200)
    expect((await call('GET', `/ops/v1/tenants/${tenant.id}/records`, { token: ops })).status).toBe(200)
    expect((await call('GET', `/ops/v1/tenants/${tenant.id}/files`, { token: ops })).status).toBe(200)
    const found = await call('GET', '/api/v1/audit?category=data_extraction', { token: tenant.adminToken })
    expect(
      found.body.items.map((e: { action: string; actor_type: string; outcome: string; details: { what: string } }) => [e.action, e.actor_type, e.outcome, e.details.what]),
    ).toEqual([
      ['support.read', 'operator', 'success', 'files'],
      ['support.read', 'operator', 'success', 'records'],
      ['support.read', 'operator', 'denied', 'records'],
    ])
    const res = await SELF.fetch(`${ORIGIN}/api/v1/audit/export?category=data_extraction`, { headers: { Authorization: `Bearer ${tenant.adminToken}` } })
    const exported = (await res.text()).trim().split('\n').map((l) => JSON.parse(l))
    expect(exported.map((e) => e.action)).toEqual(['audit.export', 'support.read', 'support.read', 'support.read'])
  })

  // Last in the file, so it sees the events of every test above.
  it('has stored every event of this file under its action\u2019s category from the table', async () => {
    const { results } = await env.DB.prepare('SELECT DISTINCT action, category FROM audit_events ORDER BY action').all<{ action: string; category: string }>()
    expect(results.length).toBeGreaterThan(8)
    for (const { action, category } of results) expect({ action, category }).toEqual({ action, category: AUDIT_ACTIONS[action as keyof typeof AUDIT_ACTIONS] })
  })
})
