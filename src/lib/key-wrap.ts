import { fromBase64Url, toBase64Url, toHex, utf8 } from './encoding'

/**
 * The master keys in configuration and the wrapping of secrets under them
 * (DM-4, DM-5). A master key never encrypts data: it only wraps (AES-256-GCM
 * under a key-encryption key derived from it by HKDF) the random data keys
 * stored in D1's `tenant_keys`, each wrap naming the master key's id, so the
 * master key can be replaced (MASTER_KEY_PREVIOUS keeps the old one
 * readable while `POST /ops/v1/keys/rotate` re-wraps) without re-encrypting
 * any data.
 */
export type MasterKeyConfig = { MASTER_KEY: string; MASTER_KEY_PREVIOUS?: string }

export type MasterKey = { id: string; kek: CryptoKey }

/** The configured master keys: the current one wraps, any of them unwraps (found by id). */
export type MasterRing = { current: MasterKey; byId: Map<string, MasterKey> }

/** The 32 bytes of a base64 master key secret. */
export function masterKeyBytes(base64: string): Uint8Array {
  const raw = Uint8Array.from(atob(base64.trim()), (c) => c.charCodeAt(0))
  if (raw.length !== 32) throw new Error('a master key must be 32 random bytes, base64-encoded')
  return raw
}

/**
 * The id of a master key: the first 8 hex digits of SHA-256 of its bytes.
 * 32 bits of a hash of a 256-bit random key tell nothing about it, and are
 * enough to tell the two configured keys apart.
 */
export async function masterKeyId(base64: string): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', masterKeyBytes(base64))).slice(0, 8)
}

async function masterKey(base64: string): Promise<MasterKey> {
  const hkdf = await crypto.subtle.importKey('raw', masterKeyBytes(base64), 'HKDF', false, ['deriveKey'])
  const kek = await crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: utf8('mamori/v2'), info: utf8('key-wrap') },
    hkdf,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  )
  return { id: await masterKeyId(base64), kek }
}

let ring: { config: string; ring: Promise<MasterRing> } | null = null

/** The configured master keys, imported once per isolate (again if the configuration changes). */
export function masterRing(env: MasterKeyConfig): Promise<MasterRing> {
  if (!env.MASTER_KEY) throw new Error('MASTER_KEY secret is not set')
  const config = `${env.MASTER_KEY}|${env.MASTER_KEY_PREVIOUS ?? ''}`
  if (ring?.config !== config) {
    const made = (async () => {
      const current = await masterKey(env.MASTER_KEY)
      const byId = new Map([[current.id, current]])
      if (env.MASTER_KEY_PREVIOUS) {
        const previous = await masterKey(env.MASTER_KEY_PREVIOUS)
        if (!byId.has(previous.id)) byId.set(previous.id, previous)
      }
      return { current, byId }
    })()
    made.catch(() => {
      if (ring?.ring === made) ring = null
    })
    ring = { config, ring: made }
  }
  return ring.ring
}

/** `<iv>.<ciphertext+tag>` in base64url: `secret` sealed under `kek`, bound to `aad`. */
export async function wrapSecret(kek: CryptoKey, secret: Uint8Array, aad: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(aad) }, kek, secret)
  return `${toBase64Url(iv)}.${toBase64Url(new Uint8Array(sealed))}`
}

/** The secret wrapSecret sealed; throws if the key, the additional data or a byte is wrong. */
export async function unwrapSecret(kek: CryptoKey, wrapped: string, aad: string): Promise<Uint8Array> {
  const [iv, body, extra] = wrapped.split('.')
  if (!iv || !body || extra !== undefined) throw new Error('malformed wrapped key')
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromBase64Url(iv), additionalData: utf8(aad) }, kek, fromBase64Url(body))
  return new Uint8Array(plain)
}

/** What a wrapped key is bound to: its owner, its id and its purpose, so a row copied elsewhere does not unwrap. */
export function wrapAad(owner: string | null, keyId: string, purpose: string): string {
  return `tenant-key:${owner ?? 'platform'}:${keyId}:${purpose}`
}

/**
 * The platform's MAC root: the secret every platform-wide key (audit-chain
 * HMACs, throttle names, identifier hashes, the webhook signature, and the
 * legacy `v1.` field keys) is derived from by HKDF. It is the bytes of the
 * master key those keys were derived from before master keys could rotate,
 * kept wrapped in `tenant_keys` (key id `platform-root`) and re-wrapped by a
 * rotation like any data key: so a rotation changes no platform MAC, and the
 * audit chains, throttle counters and webhook receivers carry on.
 *
 * Lives in lib/ because both the services and the AuditChain Durable Object
 * (which may not import services) need it; it touches only its own row.
 */
export const PLATFORM_ROOT_ID = 'platform-root'
const ROOT_AAD = wrapAad(null, PLATFORM_ROOT_ID, 'root')

let root: { config: string; key: Promise<CryptoKey> } | null = null

/**
 * The platform MAC root as an HKDF key, cached per isolate. Adopted on first
 * use: the configured master key (MASTER_KEY_PREVIOUS while one is set, as
 * that is the key everything so far was derived from) is stored wrapped
 * under the current one. Concurrent adopters store the same bytes, and the
 * first row wins.
 */
export function platformRoot(env: MasterKeyConfig & { DB: D1Database }): Promise<CryptoKey> {
  const config = `${env.MASTER_KEY}|${env.MASTER_KEY_PREVIOUS ?? ''}`
  if (root?.config !== config) {
    const made = loadRoot(env)
    made.catch(() => {
      if (root?.key === made) root = null
    })
    root = { config, key: made }
  }
  return root.key
}

async function loadRoot(env: MasterKeyConfig & { DB: D1Database }): Promise<CryptoKey> {
  const keys = await masterRing(env)
  const read = () =>
    env.DB.prepare('SELECT wrapped, master_key_id FROM tenant_keys WHERE key_id = ?').bind(PLATFORM_ROOT_ID).first<{ wrapped: string | null; master_key_id: string }>()
  let row = await read()
  if (!row) {
    const seed = masterKeyBytes(env.MASTER_KEY_PREVIOUS || env.MASTER_KEY)
    const wrapped = await wrapSecret(keys.current.kek, seed, ROOT_AAD)
    await env.DB.prepare(
      "INSERT INTO tenant_keys (key_id, tenant_id, purpose, wrapped, master_key_id, created_at) VALUES (?, NULL, 'root', ?, ?, ?) ON CONFLICT (key_id) DO NOTHING",
    )
      .bind(PLATFORM_ROOT_ID, wrapped, keys.current.id, new Date().toISOString())
      .run()
    row = await read()
  }
  if (!row?.wrapped) throw new Error('the platform MAC root is missing')
  const master = keys.byId.get(row.master_key_id)
  if (!master) throw new Error(`the platform MAC root is wrapped under master key ${row.master_key_id}, which is not configured`)
  const raw = await unwrapSecret(master.kek, row.wrapped, ROOT_AAD)
  return crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveKey'])
}

/** The AAD platformRoot binds its row to (for the rotation that re-wraps it). */
export const PLATFORM_ROOT_AAD = ROOT_AAD
