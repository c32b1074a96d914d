import { and, asc, eq, isNotNull, isNull } from 'drizzle-orm'
import { database, type Database } from '../../db/client'
import { tenantKeys } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { deriveHmacKey } from '../../lib/crypto'
import { newId } from '../../lib/ids'
import { masterRing, unwrapSecret, wrapAad, wrapSecret, type MasterKeyConfig } from '../../lib/key-wrap'
import { isoNow } from '../../lib/time'
import { audit } from '../audit/audit'

/**
 * Tenant data keys (DM-4, DM-5). Each tenant has its own random 256-bit key
 * (the operators share one platform key, `tenantId` null), made with the
 * tenant, or on first use for tenants older than this, stored only wrapped
 * under the master key (lib/key-wrap.ts). Ciphertexts and MACs name the key
 * id they need, so a key can be found after the master key rotated, and
 * destroying a tenant's keys makes everything sealed under them unreadable
 * (termination, backups).
 *
 * Purposes that need an HMAC use a sub-key derived by HKDF from the data
 * key's bytes (`mac:<purpose>`), not a second random key: a tenant then has
 * one secret to wrap, rotate, back up and destroy, and destroying it
 * destroys every sub-key with it. The bytes themselves are held only inside
 * a non-extractable HKDF key in this isolate's memory.
 */
export type KeyEnv = Env & Partial<Pick<MasterKeyConfig, 'MASTER_KEY_PREVIOUS'>>

/** Why a key asked for by id cannot be had: it was destroyed, or it never belonged to that owner. */
export class TenantKeyUnavailable extends Error {
  constructor(
    readonly reason: 'destroyed' | 'unknown',
    readonly tenantId: string | null,
    readonly keyId: string,
  ) {
    super(reason === 'destroyed' ? `the key ${keyId} of ${tenantId ?? 'the platform'} was destroyed` : `no key ${keyId} belongs to ${tenantId ?? 'the platform'}`)
    this.name = 'TenantKeyUnavailable'
  }
}

export type MacPurpose = 'code-mac'

type Unwrapped = { keyId: string; aes: CryptoKey; root: CryptoKey; macs: Map<MacPurpose, Promise<CryptoKey>> }

/**
 * Unwrapped keys, per isolate, so hot paths (every code check, every TOTP
 * sign-in) do not read and unwrap on each call. Bounded (least recently used
 * out first) and short-lived: a key destroyed elsewhere is gone from every
 * isolate's memory within KEY_TTL_MS. Cleared when the master configuration
 * changes, so what opens is always what the configured keys unwrap.
 */
const KEY_CACHE_SIZE = 256
const KEY_TTL_MS = 5 * 60_000
const cache = new Map<string, { until: number; value: Promise<Unwrapped> }>()
let cacheConfig = ''

function ownerOf(tenantId: string | null) {
  return tenantId ?? 'platform'
}

function cached(env: KeyEnv, name: string, load: () => Promise<Unwrapped>): Promise<Unwrapped> {
  const config = `${env.MASTER_KEY}|${env.MASTER_KEY_PREVIOUS ?? ''}`
  if (config !== cacheConfig) {
    cache.clear()
    cacheConfig = config
  }
  const now = Date.now()
  const hit = cache.get(name)
  if (hit && hit.until > now) {
    cache.delete(name)
    cache.set(name, hit)
    return hit.value
  }
  const value = load()
  value.catch(() => {
    if (cache.get(name)?.value === value) cache.delete(name)
  })
  cache.set(name, { until: now + KEY_TTL_MS, value })
  while (cache.size > KEY_CACHE_SIZE) cache.delete(cache.keys().next().value!)
  return value
}

/** Drops every cached key of the owner from this isolate. */
function forget(tenantId: string | null) {
  const owner = `${ownerOf(tenantId)}:`
  for (const name of [...cache.keys()]) if (name.startsWith(owner)) cache.delete(name)
}

type KeyRow = typeof tenantKeys.$inferSelect

function ownerIs(tenantId: string | null) {
  return tenantId === null ? isNull(tenantKeys.tenantId) : eq(tenantKeys.tenantId, tenantId)
}

async function importDataKey(keyId: string, raw: Uint8Array): Promise<Unwrapped> {
  const [aes, root] = await Promise.all([
    crypto.subtle.importKey('raw', raw, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
    crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveKey']),
  ])
  raw.fill(0)
  return { keyId, aes, root, macs: new Map() }
}

async function unwrapRow(env: KeyEnv, row: KeyRow): Promise<Unwrapped> {
  if (!row.wrapped) throw new TenantKeyUnavailable('destroyed', row.tenantId, row.keyId)
  const master = (await masterRing(env)).byId.get(row.masterKeyId)
  if (!master) throw new Error(`the key ${row.keyId} is wrapped under master key ${row.masterKeyId}, which is not configured`)
  return importDataKey(row.keyId, await unwrapSecret(master.kek, row.wrapped, wrapAad(row.tenantId, row.keyId, row.purpose)))
}

/**
 * A new data key for the owner, wrapped under the current master key, as
 * the write that stores it: the caller commits it in the same batch as
 * whatever makes the owner (createTenant) or records it (the lazy path).
 */
export async function newTenantKeyWrite(env: KeyEnv, db: Database, tenantId: string | null): Promise<{ keyId: string; masterKeyId: string; write: SqlWrite }> {
  const master = (await masterRing(env)).current
  const keyId = newId('tk')
  const raw = crypto.getRandomValues(new Uint8Array(32))
  const wrapped = await wrapSecret(master.kek, raw, wrapAad(tenantId, keyId, 'data'))
  raw.fill(0)
  const write = db.insert(tenantKeys).values({ keyId, tenantId, purpose: 'data', wrapped, masterKeyId: master.id, createdAt: isoNow() }).toSQL()
  return { keyId, masterKeyId: master.id, write }
}

const KEY_META = { requestId: 'tenant-keys', ip: null, userAgent: null }

/** The owner's oldest live key; made (and audited) if the owner never had one; refused if its keys were destroyed. */
async function currentRow(env: KeyEnv, tenantId: string | null): Promise<KeyRow> {
  const db = database(env)
  const oldest = () =>
    db.select().from(tenantKeys).where(and(ownerIs(tenantId), eq(tenantKeys.purpose, 'data'))).orderBy(asc(tenantKeys.createdAt), asc(tenantKeys.keyId)).all()
  let rows = await oldest()
  if (rows.length === 0) {
    const made = await newTenantKeyWrite(env, db, tenantId)
    await audit(
      env,
      KEY_META,
      {
        tenantId,
        actor: { type: 'system', id: 'tenant-keys' },
        action: 'keys.created',
        target: { type: 'tenant_key', id: made.keyId },
        outcome: 'success',
        details: { key_id: made.keyId, master_key_id: made.masterKeyId, reason: 'first_use' },
      },
      [made.write],
    )
    // Two first uses at once make two keys; both stay usable by id, and everyone settles on the older one.
    rows = await oldest()
  }
  const live = rows.find((r) => r.wrapped !== null && r.destroyedAt === null)
  if (!live) throw new TenantKeyUnavailable('destroyed', tenantId, rows[0]?.keyId ?? 'none')
  return live
}

async function currentKey(env: KeyEnv, tenantId: string | null): Promise<Unwrapped> {
  return cached(env, `${ownerOf(tenantId)}:current`, async () => unwrapRow(env, await currentRow(env, tenantId)))
}

async function keyById(env: KeyEnv, tenantId: string | null, keyId: string): Promise<Unwrapped> {
  return cached(env, `${ownerOf(tenantId)}:${keyId}`, async () => {
    const row = await database(env).select().from(tenantKeys).where(eq(tenantKeys.keyId, keyId)).get()
    if (!row || row.purpose !== 'data' || row.tenantId !== tenantId) throw new TenantKeyUnavailable('unknown', tenantId, keyId)
    return unwrapRow(env, row)
  })
}

/**
 * The owner's current data key (AES-256-GCM, encrypt and decrypt) and its
 * id, to seal new data with. `tenantId` null: the operators' platform key.
 * Throws TenantKeyUnavailable('destroyed') once the owner's keys were destroyed.
 */
export async function tenantDataKey(env: KeyEnv, tenantId: string | null): Promise<{ keyId: string; key: CryptoKey }> {
  const k = await currentKey(env, tenantId)
  return { keyId: k.keyId, key: k.aes }
}

/** The owner's data key with this id, to open what it sealed. Throws TenantKeyUnavailable if it was destroyed or is not the owner's. */
export async function tenantKeyById(env: KeyEnv, tenantId: string | null, keyId: string): Promise<CryptoKey> {
  return (await keyById(env, tenantId, keyId)).aes
}

function macKey(k: Unwrapped, purpose: MacPurpose): Promise<CryptoKey> {
  let key = k.macs.get(purpose)
  if (!key) {
    key = deriveHmacKey(k.root, `mac:${purpose}`)
    k.macs.set(purpose, key)
  }
  return key
}

/** The owner's current HMAC-SHA-256 key for `purpose`, derived from its data key, with the data key's id. */
export async function tenantMacKey(env: KeyEnv, tenantId: string | null, purpose: MacPurpose): Promise<{ keyId: string; key: CryptoKey }> {
  const k = await currentKey(env, tenantId)
  return { keyId: k.keyId, key: await macKey(k, purpose) }
}

/** The HMAC key for `purpose` under the owner's data key `keyId`. Throws TenantKeyUnavailable like tenantKeyById. */
export async function tenantMacKeyById(env: KeyEnv, tenantId: string | null, keyId: string, purpose: MacPurpose): Promise<CryptoKey> {
  return macKey(await keyById(env, tenantId, keyId), purpose)
}

/**
 * Destroys every data key of the tenant: the wrapped bytes are blanked (the
 * row stays as a tombstone, so later lookups say `destroyed`, not
 * `unknown`), in one batch with a `keys.destroyed` event on the platform's
 * chain (the tenant's own trail may already be gone when termination calls
 * this). Nothing sealed under them opens again: this isolate forgets them
 * at once, other isolates within KEY_TTL_MS. Idempotent; returns how many
 * keys this call destroyed.
 */
export async function destroyTenantKeys(env: KeyEnv, tenantId: string): Promise<{ destroyed: number }> {
  const db = database(env)
  const live = await db
    .select({ keyId: tenantKeys.keyId })
    .from(tenantKeys)
    .where(and(eq(tenantKeys.tenantId, tenantId), isNotNull(tenantKeys.wrapped)))
    .all()
  forget(tenantId)
  if (live.length === 0) return { destroyed: 0 }
  const now = isoNow()
  await audit(
    env,
    KEY_META,
    {
      tenantId: null,
      actor: { type: 'system', id: 'tenant-keys' },
      action: 'keys.destroyed',
      target: { type: 'tenant', id: tenantId },
      outcome: 'success',
      details: { key_ids: live.map((k) => k.keyId) },
    },
    [db.update(tenantKeys).set({ wrapped: null, destroyedAt: now }).where(and(eq(tenantKeys.tenantId, tenantId), isNotNull(tenantKeys.wrapped))).toSQL()],
  )
  forget(tenantId)
  return { destroyed: live.length }
}
