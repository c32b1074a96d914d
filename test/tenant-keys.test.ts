import { env } from 'cloudflare:test'
import * as OTPAuth from 'otpauth'
import { describe, expect, it } from 'vitest'
import { newId } from '../src/lib/ids'
import { fromBase64Url, toBase64Url, toHex, utf8 } from '../src/lib/encoding'
import { masterKeyId, masterRing, unwrapSecret, wrapAad } from '../src/lib/key-wrap'
import { codeMac, codeMacMatches, openForOwner, sealForOwner } from '../src/services/keys/field-crypto'
import { legacyFactorSecretKey } from '../src/services/keys/platform-keys'
import { TenantKeyUnavailable, destroyTenantKeys, tenantDataKey, tenantKeyById, tenantMacKey } from '../src/services/keys/tenant-keys'
import { call, expectProblem, operator, tenantWithAdmin, type TestTenant } from './helpers'

/**
 * Tenant data keys (DM-4, DM-5): one random key per tenant, stored only
 * wrapped under the master key, named by every ciphertext and code MAC; the
 * legacy formats from before them still open and are stored again in the
 * new one when touched. Rotation across master keys: tenant-keys-rotation.test.ts.
 */

type KeyRow = { key_id: string; tenant_id: string | null; purpose: string; wrapped: string | null; master_key_id: string; created_at: string; destroyed_at: string | null }

function keyRows(tenantId: string) {
  return env.DB.prepare('SELECT * FROM tenant_keys WHERE tenant_id = ? ORDER BY created_at').bind(tenantId).all<KeyRow>().then((r) => r.results)
}

function auditRows(action: string, targetId: string) {
  return env.DB.prepare('SELECT chain, tenant_id, actor_type, details FROM audit_events WHERE action = ? AND target_id = ? ORDER BY seq')
    .bind(action, targetId)
    .all<{ chain: string; tenant_id: string | null; actor_type: string; details: string }>()
    .then((r) => r.results.map((e) => ({ ...e, details: JSON.parse(e.details) })))
}

const legacy = (tenantId: string | null) => () => legacyFactorSecretKey(env, tenantId)

/** Today's (pre-data-key) derivation, written out independently: HKDF-SHA-256 over MASTER_KEY, salt mamori/v1. */
async function oldDerivedKey(info: string, algorithm: { name: 'AES-GCM'; length: 256 } | { name: 'HMAC'; hash: 'SHA-256'; length: 256 }) {
  const master = await crypto.subtle.importKey('raw', Uint8Array.from(atob(env.MASTER_KEY), (c) => c.charCodeAt(0)), 'HKDF', false, ['deriveKey'])
  const usages: ('sign' | 'encrypt')[] = algorithm.name === 'HMAC' ? ['sign'] : ['encrypt']
  return crypto.subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: utf8('mamori/v1'), info: utf8(info) }, master, algorithm, false, usages)
}

/** A TOTP secret as the service stored it before data keys: `v1.<iv>.<ct>` under `mfa-secret:<tenant>`. */
async function oldSealedSecret(tenantId: string, accountId: string, base32: string) {
  const key = await oldDerivedKey(`mfa-secret:${tenantId}`, { name: 'AES-GCM', length: 256 })
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(`mfa-secret:${accountId}`) }, key, utf8(base32))
  return `v1.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ct))}`
}

/** A code MAC as the service stored it before data keys: unprefixed, under the `otp-mac` key every tenant shared. */
async function oldCodeMac(message: string) {
  const key = await oldDerivedKey('otp-mac', { name: 'HMAC', hash: 'SHA-256', length: 256 })
  return toBase64Url(new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8(message))))
}

const STEP_MS = 30_000

async function stepSafeNow() {
  const into = Date.now() % STEP_MS
  if (into > STEP_MS - 4_000) await new Promise((resolve) => setTimeout(resolve, STEP_MS - into + 250))
  return Date.now()
}

/** Enrols TOTP for the admin (confirmed with the previous step's code, so the current one is still unused). */
async function enrolTotp(t: TestTenant) {
  const started = await call('POST', '/api/v1/me/mfa/totp', { token: t.adminToken, body: { current_password: t.adminPassword } })
  expect(started.status).toBe(200)
  const totp = OTPAuth.URI.parse(started.body.uri) as OTPAuth.TOTP
  const now = await stepSafeNow()
  const confirmed = await call('POST', '/api/v1/me/mfa/totp/confirm', { token: t.adminToken, body: { code: totp.generate({ timestamp: now - STEP_MS }) } })
  expect(confirmed.status).toBe(200)
  return { totp, recoveryCodes: confirmed.body.recovery_codes as string[] }
}

async function challenge(t: TestTenant) {
  const login = await call('POST', '/api/v1/auth/login', { body: { tenant: t.slug, email: t.adminEmail, password: t.adminPassword } })
  expect(login.body.status).toBe('mfa_required')
  return login.body.challenge as string
}

async function totpRow(accountId: string) {
  return env.DB.prepare("SELECT id, secret FROM mfa_factors WHERE account_id = ? AND kind = 'totp'").bind(accountId).first<{ id: string; secret: string }>()
}

describe('one data key per tenant', () => {
  it('gives two tenants two keys, created with each tenant, wrapped differently under the current master key', async () => {
    const [a, b] = [await tenantWithAdmin(), await tenantWithAdmin()]
    const [rowsA, rowsB] = [await keyRows(a.id), await keyRows(b.id)]
    const masterId = await masterKeyId(env.MASTER_KEY)
    const shape = { purpose: 'data', master_key_id: masterId, wrapped: expect.stringMatching(/^[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{64}$/), destroyed_at: null }
    expect(rowsA).toEqual([{ ...shape, key_id: expect.stringMatching(/^tk_[0-9a-z]{26}$/), tenant_id: a.id, created_at: expect.any(String) }])
    expect(rowsB).toEqual([{ ...shape, key_id: expect.stringMatching(/^tk_[0-9a-z]{26}$/), tenant_id: b.id, created_at: expect.any(String) }])
    expect(rowsA[0]!.key_id).not.toBe(rowsB[0]!.key_id)
    expect(rowsA[0]!.wrapped).not.toBe(rowsB[0]!.wrapped)
    expect((await tenantDataKey(env, a.id)).keyId).toBe(rowsA[0]!.key_id)
    expect((await tenantDataKey(env, b.id)).keyId).toBe(rowsB[0]!.key_id)
    // The key was born in the tenant's own creation transaction, and its event names it.
    expect((await auditRows('tenant.create', a.id))[0]!.details).toMatchObject({ data_key_id: rowsA[0]!.key_id })
  })

  it('stores no raw key: the row opens only under the master key, and the key bytes appear nowhere in it', async () => {
    const t = await tenantWithAdmin()
    const [row] = await keyRows(t.id)
    const raw = await unwrapSecret((await masterRing(env)).current.kek, row!.wrapped!, wrapAad(t.id, row!.key_id, 'data'))
    expect(raw).toHaveLength(32)
    // What the service seals opens with exactly those unwrapped bytes.
    const sealed = await sealForOwner(env, t.id, 'hello', 'probe')
    const aes = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['decrypt'])
    const [, , iv, body] = sealed.split('.')
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromBase64Url(iv!), additionalData: utf8('probe') }, aes, fromBase64Url(body!))
    expect(new TextDecoder().decode(plain)).toBe('hello')
    const stored = JSON.stringify(row)
    for (const form of [toBase64Url(raw), toHex(raw), btoa(String.fromCharCode(...raw))]) expect(stored).not.toContain(form)
    // Bound to its owner and id: the same wrapped bytes do not open as another tenant's.
    await expect(unwrapSecret((await masterRing(env)).current.kek, row!.wrapped!, wrapAad('tn_other', row!.key_id, 'data'))).rejects.toThrow()
  })

  it('names the key in every ciphertext, and a ciphertext of tenant A does not open under tenant B', async () => {
    const [a, b] = [await tenantWithAdmin(), await tenantWithAdmin()]
    const sealed = await sealForOwner(env, a.id, 'tenant A secret', 'probe:1')
    const keyA = (await keyRows(a.id))[0]!.key_id
    const keyB = (await keyRows(b.id))[0]!.key_id
    expect(sealed).toMatch(new RegExp(`^v2\\.${keyA}\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]+$`))
    expect(await openForOwner(env, a.id, sealed, 'probe:1', legacy(a.id))).toEqual({ plaintext: 'tenant A secret', legacy: false })
    // B asking for A's key id: not B's key.
    const foreign = await openForOwner(env, b.id, sealed, 'probe:1', legacy(b.id)).catch((e: unknown) => e)
    expect(foreign).toBeInstanceOf(TenantKeyUnavailable)
    expect(foreign).toMatchObject({ reason: 'unknown', tenantId: b.id, keyId: keyA })
    await expect(tenantKeyById(env, b.id, keyA)).rejects.toMatchObject({ reason: 'unknown' })
    // A's ciphertext relabelled with B's key id: B's key does not open it.
    await expect(openForOwner(env, b.id, sealed.replace(keyA, keyB), 'probe:1', legacy(b.id))).rejects.toThrow()
    // Code MACs too: per tenant, naming the key.
    const macA = await codeMac(env, a.id, 'recovery:abcde-fghij')
    expect(macA).toMatch(new RegExp(`^v2\\.${keyA}\\.[A-Za-z0-9_-]{43}$`))
    expect(await codeMac(env, b.id, 'recovery:abcde-fghij')).not.toBe(macA)
    expect(await codeMacMatches(env, a.id, 'recovery:abcde-fghij', macA)).toBe(true)
    await expect(codeMacMatches(env, b.id, 'recovery:abcde-fghij', macA)).rejects.toMatchObject({ reason: 'unknown' })
  })

  it('gives the operators a platform key of their own, distinct from every tenant key', async () => {
    const t = await tenantWithAdmin()
    const platform = await tenantDataKey(env, null)
    const row = await env.DB.prepare("SELECT * FROM tenant_keys WHERE tenant_id IS NULL AND purpose = 'data'").all<KeyRow>()
    expect(row.results.map((r) => r.key_id)).toEqual([platform.keyId])
    expect(platform.keyId).not.toBe((await tenantDataKey(env, t.id)).keyId)
    const sealed = await sealForOwner(env, null, 'operator secret', 'probe')
    await expect(openForOwner(env, t.id, sealed, 'probe', legacy(t.id))).rejects.toMatchObject({ reason: 'unknown' })
    expect((await tenantMacKey(env, null, 'code-mac')).keyId).toBe(platform.keyId)
  })

  it('makes a key on first use for a tenant from before data keys, once, audited', async () => {
    // A tenant created before this change: its row, and no key.
    const t = { id: newId('tn') }
    const now = new Date().toISOString()
    await env.DB.prepare("INSERT INTO tenants (id, slug, name, plan_id, status, contact_email, created_at, updated_at) VALUES (?, ?, 'Old', 'standard', 'active', 'old@old.example', ?, ?)")
      .bind(t.id, `old-${t.id.slice(-8)}`, now, now)
      .run()
    expect(await keyRows(t.id)).toEqual([])
    const [first, second] = await Promise.all([tenantDataKey(env, t.id), tenantDataKey(env, t.id)])
    expect(second.keyId).toBe(first.keyId)
    const rows = await keyRows(t.id)
    expect(rows.map((r) => r.key_id)).toEqual([first.keyId])
    expect(await auditRows('keys.created', first.keyId)).toEqual([
      { chain: t.id, tenant_id: t.id, actor_type: 'system', details: { key_id: first.keyId, master_key_id: await masterKeyId(env.MASTER_KEY), reason: 'first_use' } },
    ])
  })

  it('destroys a tenant\u2019s keys: nothing sealed under them opens again (typed error), and no new key is made', async () => {
    const t = await tenantWithAdmin()
    const other = await tenantWithAdmin()
    const { keyId } = await tenantDataKey(env, t.id)
    const sealed = await sealForOwner(env, t.id, 'doomed', 'probe')
    const mac = await codeMac(env, t.id, 'x')
    const survivor = await sealForOwner(env, other.id, 'kept', 'probe')

    expect(await destroyTenantKeys(env, t.id)).toEqual({ destroyed: 1 })
    const [row] = await keyRows(t.id)
    expect(row).toMatchObject({ key_id: keyId, wrapped: null, destroyed_at: expect.any(String) })
    for (const attempt of [
      () => openForOwner(env, t.id, sealed, 'probe', legacy(t.id)),
      () => tenantKeyById(env, t.id, keyId),
      () => tenantDataKey(env, t.id),
      () => codeMacMatches(env, t.id, 'x', mac),
    ]) {
      const error = await attempt().then(() => null, (e: unknown) => e)
      expect(error).toBeInstanceOf(TenantKeyUnavailable)
      expect(error).toMatchObject({ reason: 'destroyed', tenantId: t.id })
    }
    expect(await keyRows(t.id)).toHaveLength(1)
    expect(await openForOwner(env, other.id, survivor, 'probe', legacy(other.id))).toEqual({ plaintext: 'kept', legacy: false })
    // Recorded on the platform's chain (the tenant's own trail goes with termination), naming no key material.
    const events = await auditRows('keys.destroyed', t.id)
    expect(events).toEqual([{ chain: 'platform', tenant_id: null, actor_type: 'system', details: { key_ids: [keyId] } }])
    expect(await destroyTenantKeys(env, t.id)).toEqual({ destroyed: 0 })
    expect(await auditRows('keys.destroyed', t.id)).toHaveLength(1)
  })
})

describe('from the format before data keys', () => {
  it('signs in with a TOTP secret stored as v1 under the old derived key, and stores it again as v2', async () => {
    const t = await tenantWithAdmin()
    const { totp } = await enrolTotp(t)
    const factor = (await totpRow(t.adminId))!
    const v1 = await oldSealedSecret(t.id, t.adminId, totp.secret.base32)
    await env.DB.prepare('UPDATE mfa_factors SET secret = ? WHERE id = ?').bind(v1, factor.id).run()

    const token = await challenge(t)
    const done = await call('POST', '/api/v1/auth/mfa', { body: { challenge: token, code: totp.generate({ timestamp: await stepSafeNow() }) } })
    expect(done.status).toBe(200)
    expect(done.body.status).toBe('ok')

    const { keyId } = await tenantDataKey(env, t.id)
    const after = (await totpRow(t.adminId))!.secret
    expect(after).toMatch(new RegExp(`^v2\\.${keyId}\\.`))
    expect(await openForOwner(env, t.id, after, `mfa-secret:${t.adminId}`, legacy(t.id))).toEqual({ plaintext: totp.secret.base32, legacy: false })
  })

  it('signs in with a recovery code stored as an old shared-key MAC, and stores the used one as v2', async () => {
    const t = await tenantWithAdmin()
    const { recoveryCodes } = await enrolTotp(t)
    const ids = await env.DB.prepare('SELECT id FROM recovery_codes WHERE account_id = ? ORDER BY id').bind(t.adminId).all<{ id: string }>()
    // Each row gets the MAC today's code computes; which code sits in which row does not matter.
    await env.DB.batch(
      await Promise.all(
        ids.results.map(async ({ id }, i) => env.DB.prepare('UPDATE recovery_codes SET code_hash = ? WHERE id = ?').bind(await oldCodeMac(`recovery:${recoveryCodes[i]}`), id)),
      ),
    )
    const code = recoveryCodes[3]!
    const done = await call('POST', '/api/v1/auth/mfa', { body: { challenge: await challenge(t), code } })
    expect(done.status).toBe(200)
    expect(done.body.status).toBe('ok')

    const rows = await env.DB.prepare('SELECT code_hash, used_at FROM recovery_codes WHERE account_id = ?').bind(t.adminId).all<{ code_hash: string; used_at: string | null }>()
    const used = rows.results.filter((r) => r.used_at !== null)
    expect(used).toEqual([{ code_hash: await codeMac(env, t.id, `recovery:${code}`), used_at: expect.any(String) }])
    expect(used[0]!.code_hash).toMatch(/^v2\.tk_/)
    // The others cannot be re-keyed before they are typed: still the old form, still accepted.
    expect(rows.results.filter((r) => r.used_at === null && !r.code_hash.startsWith('v2.'))).toHaveLength(9)
    expect((await call('POST', '/api/v1/auth/mfa', { body: { challenge: await challenge(t), code: recoveryCodes[4]! } })).status).toBe(200)
    expectProblem(await call('POST', '/api/v1/auth/mfa', { body: { challenge: await challenge(t), code } }), 401, 'mfa-failed')
  })

  it('accepts a mailed code whose challenge was hashed under the old shared key before the change', async () => {
    const t = await tenantWithAdmin()
    const started = await call('POST', '/api/v1/me/mfa/email', { token: t.adminToken, body: { current_password: t.adminPassword } })
    expect(started.status).toBe(200)
    const token = await challenge(t)
    const row = (await env.DB.prepare("SELECT id FROM mfa_challenges WHERE account_id = ? AND purpose = 'login' ORDER BY created_at DESC").bind(t.adminId).first<{ id: string }>())!
    const code = '424242'
    await env.DB.prepare('UPDATE mfa_challenges SET code_mac = ? WHERE id = ?').bind(await oldCodeMac(`${row.id}:${code}`), row.id).run()
    const done = await call('POST', '/api/v1/auth/mfa', { body: { challenge: token, code } })
    expect(done.status).toBe(200)
    expect(done.body.status).toBe('ok')
  })

  it('re-seals the remaining v1 secrets through POST /ops/v1/keys/rotate, audited, then has nothing left to do', async () => {
    const ops = await operator()
    const t = await tenantWithAdmin()
    const { totp } = await enrolTotp(t)
    const factor = (await totpRow(t.adminId))!
    await env.DB.prepare('UPDATE mfa_factors SET secret = ? WHERE id = ?').bind(await oldSealedSecret(t.id, t.adminId, totp.secret.base32), factor.id).run()
    // Other suites' leftovers in this file may be legacy too: count what is there.
    const legacyCount = (await env.DB.prepare("SELECT count(*) AS n FROM mfa_factors WHERE secret LIKE 'v1.%'").first<{ n: number }>())!.n
    expect(legacyCount).toBeGreaterThanOrEqual(1)

    const first = await call('POST', '/ops/v1/keys/rotate', { token: ops })
    expect(first.status).toBe(200)
    expect(first.body).toEqual({ rewrapped: 0, reencrypted: legacyCount, remaining: 0 })
    const after = (await totpRow(t.adminId))!.secret
    expect(after).toMatch(/^v2\.tk_/)
    expect((await openForOwner(env, t.id, after, `mfa-secret:${t.adminId}`, legacy(t.id))).plaintext).toBe(totp.secret.base32)

    const again = await call('POST', '/ops/v1/keys/rotate', { token: ops })
    expect(again.body).toEqual({ rewrapped: 0, reencrypted: 0, remaining: 0 })
    const events = await env.DB.prepare("SELECT chain, actor_type, details FROM audit_events WHERE action = 'keys.rotated' ORDER BY seq").all<{ chain: string; actor_type: string; details: string }>()
    const masterId = await masterKeyId(env.MASTER_KEY)
    expect(events.results.map((e) => ({ ...e, details: JSON.parse(e.details) }))).toEqual([
      { chain: 'platform', actor_type: 'operator', details: { master_key_id: masterId, from_master_key_ids: [], rewrapped: 0, reencrypted: legacyCount } },
      { chain: 'platform', actor_type: 'operator', details: { master_key_id: masterId, from_master_key_ids: [], rewrapped: 0, reencrypted: 0 } },
    ])
    const text = JSON.stringify(events.results)
    expect(text).not.toContain(totp.secret.base32)
    expect(text).not.toContain(env.MASTER_KEY)
  })

  it('refuses a rotation batch size outside 1\u2013200 and anyone but an operator', async () => {
    const ops = await operator()
    for (const limit of ['0', '201', 'many']) expectProblem(await call('POST', `/ops/v1/keys/rotate?limit=${limit}`, { token: ops }), 422, 'validation')
    expectProblem(await call('POST', '/ops/v1/keys/rotate?other=1', { token: ops }), 422, 'validation')
    expectProblem(await call('POST', '/ops/v1/keys/rotate'), 401, 'unauthenticated')
    const t = await tenantWithAdmin()
    expect((await call('POST', '/ops/v1/keys/rotate', { token: t.adminToken })).status).toBe(401)
  })
})
