import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { database } from '../src/db/client'
import { auditChainKey, auditEventHashMatches, type StoredAuditEvent } from '../src/lib/audit-hash'
import { mac } from '../src/lib/crypto'
import { newId } from '../src/lib/ids'
import { masterKeyId } from '../src/lib/key-wrap'
import { codeMac, codeMacMatches, openForOwner, sealForOwner } from '../src/services/keys/field-crypto'
import { identifierMacKey, legacyFactorSecretKey } from '../src/services/keys/platform-keys'
import { tenantDataKey } from '../src/services/keys/tenant-keys'
import { createTenant } from '../src/services/tenancy/tenants'
import { call, expectProblem, operator, uniqueSlug } from './helpers'

/**
 * Master-key rotation (DM-4). This suite's Worker runs as a deployment does
 * mid-rotation: MASTER_KEY is the new key, MASTER_KEY_PREVIOUS the old one
 * (vitest.config.ts, project `key-rotation`). What existed before is written
 * by the services under the old key alone; POST /ops/v1/keys/rotate then
 * re-wraps it, and everything is opened with the new key alone, as after
 * MASTER_KEY_PREVIOUS is removed.
 */
const OLD = (env as unknown as { MASTER_KEY_PREVIOUS: string }).MASTER_KEY_PREVIOUS
const before = { ...env, MASTER_KEY: OLD, MASTER_KEY_PREVIOUS: undefined }
const after = { ...env, MASTER_KEY_PREVIOUS: undefined }
const META = { requestId: 'test', ip: null, userAgent: null }

type KeyRow = { key_id: string; tenant_id: string | null; purpose: string; wrapped: string | null; master_key_id: string }

async function keyRows() {
  return (await env.DB.prepare('SELECT key_id, tenant_id, purpose, wrapped, master_key_id FROM tenant_keys ORDER BY key_id').all<KeyRow>()).results
}

async function rotateAll(ops: string) {
  const steps: unknown[] = []
  for (let i = 0; i < 10; i++) {
    const reply = await call('POST', '/ops/v1/keys/rotate?limit=1', { token: ops })
    expect(reply.status).toBe(200)
    steps.push(reply.body)
    if (reply.body.remaining === 0) break
  }
  return steps
}

describe('master-key rotation', () => {
  it('re-wraps every key under the new master key, resumably; what was sealed before opens with the new key alone', async () => {
    expect(OLD).toMatch(/=$/)
    // Before the new key existed: the deployment ran on the old one alone.
    const identifierBefore = await mac(await identifierMacKey(before), 'email:someone@else.example')
    // The platform chain's HMAC key as the old deployment had it: it must still verify every event afterwards.
    const platformChainKeyBefore = await auditChainKey(before, 'platform')
    const slug = uniqueSlug()
    const created = await createTenant(
      before,
      database(before),
      { slug, name: 'Before', plan: 'standard', contact_email: `c@${slug}.example`, admin: { email: `a@${slug}.example`, name: 'A' } },
      { type: 'system', id: 'test' },
      META,
    )
    const tenantId = created.tenant.id
    const sealed = await sealForOwner(before, tenantId, 'sealed before the rotation', 'probe')
    const recovery = await codeMac(before, tenantId, 'recovery:abcde-fghij')
    const operatorSealed = await sealForOwner(before, null, 'operator secret', 'probe')
    const [oldId, newId_] = [await masterKeyId(OLD), await masterKeyId(env.MASTER_KEY)]
    const wrappedBefore = await keyRows()
    expect(wrappedBefore.map((r) => [r.purpose, r.tenant_id, r.master_key_id])).toEqual(
      expect.arrayContaining([
        ['root', null, oldId],
        ['data', null, oldId],
        ['data', tenantId, oldId],
      ]),
    )
    expect(wrappedBefore.every((r) => r.master_key_id === oldId)).toBe(true)

    // The new key is deployed with the old one as MASTER_KEY_PREVIOUS: the Worker still opens everything.
    const ops = await operator()
    const stale = wrappedBefore.length
    const steps = await rotateAll(ops)
    expect(steps).toEqual(Array.from({ length: stale }, (_, i) => ({ rewrapped: 1, reencrypted: 0, remaining: stale - 1 - i })))
    expect((await call('POST', '/ops/v1/keys/rotate', { token: ops })).body).toEqual({ rewrapped: 0, reencrypted: 0, remaining: 0 })
    const wrappedAfter = await keyRows()
    expect(wrappedAfter.map((r) => r.key_id)).toEqual(wrappedBefore.map((r) => r.key_id))
    for (const [i, row] of wrappedAfter.entries()) {
      expect(row.master_key_id).toBe(newId_)
      expect(row.wrapped).not.toBe(wrappedBefore[i]!.wrapped)
    }
    const events = await env.DB.prepare("SELECT details FROM audit_events WHERE action = 'keys.rotated' ORDER BY seq").all<{ details: string }>()
    expect(events.results.map((e) => JSON.parse(e.details))[0]).toEqual({ master_key_id: newId_, from_master_key_ids: [oldId], rewrapped: 1, reencrypted: 0 })

    // MASTER_KEY_PREVIOUS removed: every ciphertext and MAC from before still opens.
    expect(await openForOwner(after, tenantId, sealed, 'probe', () => legacyFactorSecretKey(after, tenantId))).toEqual({ plaintext: 'sealed before the rotation', legacy: false })
    expect(await codeMacMatches(after, tenantId, 'recovery:abcde-fghij', recovery)).toBe(true)
    expect((await openForOwner(after, null, operatorSealed, 'probe', () => legacyFactorSecretKey(after, null))).plaintext).toBe('operator secret')
    expect((await tenantDataKey(after, tenantId)).keyId).toBe(wrappedBefore.find((r) => r.tenant_id === tenantId)!.key_id)
    // Platform keys did not change: identifier hashes still correlate, and every audit event, before and after, verifies.
    expect(await mac(await identifierMacKey(after), 'email:someone@else.example')).toBe(identifierBefore)
    const chain = await env.DB.prepare("SELECT * FROM audit_events WHERE chain IN ('platform', ?) ORDER BY chain, seq").bind(tenantId).all<StoredAuditEvent>()
    expect(chain.results.length).toBeGreaterThan(3)
    for (const event of chain.results) {
      expect(event.hash_alg).toBe('hmac-sha256')
      expect(await auditEventHashMatches(await auditChainKey(after, event.chain), 'hmac-sha256', event)).toBe(true)
      if (event.chain === 'platform') expect(await auditEventHashMatches(platformChainKeyBefore, 'hmac-sha256', event)).toBe(true)
    }
    for (const name of ['platform', tenantId]) {
      const verified = await call('GET', `/ops/v1/audit/verify?chain=${name}&full=true`, { token: ops })
      expect(verified.status).toBe(200)
      expect(verified.body).toMatchObject({ chain: name, ok: true, complete: true, problem: null })
    }
    // And the old key alone opens nothing any more: the keys really moved.
    await expect(openForOwner(before, tenantId, sealed, 'probe', () => legacyFactorSecretKey(before, tenantId))).rejects.toThrow(/not configured/)
  })

  it('answers 409 master-key-unavailable for a key wrapped under an unconfigured master key, and changes nothing', async () => {
    const ops = await operator()
    const stranger = { ...env, MASTER_KEY: btoa('a third master key, 32 bytes!!!!'), MASTER_KEY_PREVIOUS: undefined }
    const tenantId = newId('tn')
    const now = new Date().toISOString()
    await env.DB.prepare("INSERT INTO tenants (id, slug, name, plan_id, status, contact_email, created_at, updated_at) VALUES (?, ?, 'X', 'standard', 'active', 'x@x.example', ?, ?)")
      .bind(tenantId, uniqueSlug(), now, now)
      .run()
    await tenantDataKey(stranger, tenantId)
    const rowsBefore = await keyRows()
    const eventsBefore = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE action = 'keys.rotated'").first<{ n: number }>()

    const problem = expectProblem(await call('POST', '/ops/v1/keys/rotate', { token: ops }), 409, 'master-key-unavailable')
    expect(problem.detail).toContain(await masterKeyId(stranger.MASTER_KEY))
    expect(await keyRows()).toEqual(rowsBefore)
    expect(await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE action = 'keys.rotated'").first<{ n: number }>()).toEqual(eventsBefore)
    await env.DB.prepare('DELETE FROM tenant_keys WHERE tenant_id = ?').bind(tenantId).run()
  })
})
