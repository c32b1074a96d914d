import { decryptText, encryptText, mac, macMatches, sealedWith } from '../../lib/crypto'
import { legacyOtpMacKey } from './platform-keys'
import { tenantDataKey, tenantKeyById, tenantMacKey, tenantMacKeyById, type KeyEnv } from './tenant-keys'

/**
 * Fields sealed and codes MACed under the owner's data key, each naming the
 * key id it needs, with the legacy formats from before data keys still
 * read: `v1.` ciphertexts (under a key the caller names) and unprefixed
 * MACs (under the legacy key all tenants shared).
 */

/** `plaintext` sealed under the owner's current data key, as `v2.<key id>.<iv>.<ct>`. */
export async function sealForOwner(env: KeyEnv, tenantId: string | null, plaintext: string, aad: string): Promise<string> {
  const { keyId, key } = await tenantDataKey(env, tenantId)
  return encryptText(key, keyId, plaintext, aad)
}

/**
 * Opens a sealed field: `v2.` with the owner's key it names (a destroyed or
 * foreign key throws TenantKeyUnavailable), `v1.` with `legacyKey`.
 * `legacy` says the caller should seal it again (sealForOwner) when it can.
 */
export async function openForOwner(
  env: KeyEnv,
  tenantId: string | null,
  sealed: string,
  aad: string,
  legacyKey: () => Promise<CryptoKey>,
): Promise<{ plaintext: string; legacy: boolean }> {
  const format = sealedWith(sealed)
  const key = format.version === 'v2' ? await tenantKeyById(env, tenantId, format.keyId) : await legacyKey()
  return { plaintext: await decryptText(key, sealed, aad), legacy: format.version === 'v1' }
}

const MAC_V2 = /^v2\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]+)$/

/** What is stored of a one-time code or recovery code: `v2.<key id>.<HMAC>` under the owner's code-MAC key. */
export async function codeMac(env: KeyEnv, tenantId: string | null, message: string): Promise<string> {
  const { keyId, key } = await tenantMacKey(env, tenantId, 'code-mac')
  return `v2.${keyId}.${await mac(key, message)}`
}

/** Constant-time check of a stored code MAC, in either format. */
export async function codeMacMatches(env: KeyEnv, tenantId: string | null, message: string, stored: string): Promise<boolean> {
  const v2 = MAC_V2.exec(stored)
  if (v2) return macMatches(await tenantMacKeyById(env, tenantId, v2[1]!, 'code-mac'), message, v2[2]!)
  return macMatches(await legacyOtpMacKey(env), message, stored)
}

/**
 * The stored forms `message` would have among `stored` (the owner's rows
 * that may hold it): one per key id present, plus the legacy form if any
 * row is unprefixed. Lets a lookup stay one equality match in SQL.
 */
export async function codeMacCandidates(env: KeyEnv, tenantId: string | null, message: string, stored: string[]): Promise<string[]> {
  const keyIds = new Set<string>()
  let legacy = false
  for (const s of stored) {
    const v2 = MAC_V2.exec(s)
    if (v2) keyIds.add(v2[1]!)
    else legacy = true
  }
  const out = await Promise.all([...keyIds].map(async (id) => `v2.${id}.${await mac(await tenantMacKeyById(env, tenantId, id, 'code-mac'), message)}`))
  if (legacy) out.push(await mac(await legacyOtpMacKey(env), message))
  return out
}
