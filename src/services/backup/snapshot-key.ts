import { deriveAesKey, importMasterKey } from '../../lib/crypto'

/**
 * TEMPORARY STAND-IN, replaced at merge by `src/services/keys/tenant-keys.ts`
 * (one random, wrapped data key per tenant, built by another change). Same
 * two functions, same signatures; the backup code calls only these, so the
 * merge swaps the import and nothing else. Until then the tenant's key is
 * derived from MASTER_KEY with HKDF (info `backup:<tenant id>`), ID `derived-v1`.
 */
const DERIVED_KEY_ID = 'derived-v1'

const cache = new Map<string, Promise<CryptoKey>>()

function derived(env: Pick<Env, 'MASTER_KEY'>, tenantId: string) {
  const name = `${env.MASTER_KEY}|${tenantId}`
  let key = cache.get(name)
  if (!key) {
    key = importMasterKey(env.MASTER_KEY).then((master) => deriveAesKey(master, `backup:${tenantId}`))
    cache.set(name, key)
  }
  return key
}

/** The tenant's current data key and its ID: what new ciphertexts are sealed under. */
export async function tenantDataKey(env: Pick<Env, 'MASTER_KEY'>, tenantId: string): Promise<{ keyId: string; key: CryptoKey }> {
  return { keyId: DERIVED_KEY_ID, key: await derived(env, tenantId) }
}

/** The tenant's key with this ID (an older one after rotation); throws when the tenant has no such key. */
export async function tenantKeyById(env: Pick<Env, 'MASTER_KEY'>, tenantId: string, keyId: string): Promise<CryptoKey> {
  if (keyId !== DERIVED_KEY_ID) throw new Error(`tenant ${tenantId} has no key ${keyId}`)
  return derived(env, tenantId)
}
