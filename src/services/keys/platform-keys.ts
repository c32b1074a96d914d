import { deriveAesKey, deriveHmacKey } from '../../lib/crypto'
import { platformRoot, type MasterKeyConfig } from '../../lib/key-wrap'

/**
 * Platform-wide keys, derived by HKDF from the platform's MAC root
 * (lib/key-wrap.ts: the bytes of the original MASTER_KEY, kept wrapped in
 * D1). They protect platform secrets, not tenant data: names of throttle
 * objects, keyed hashes of typed identifiers, the webhook signature and the
 * audit chains' HMACs (lib/audit-hash.ts); nothing a tenant owns is sealed
 * under them, so termination has nothing of theirs to destroy. Because the
 * root is re-wrapped, not replaced, by a master-key rotation, a rotation
 * changes none of them: audit chains keep verifying, throttle counters keep
 * counting, and webhook receivers keep their key. Re-keying them is a
 * separate decision (a new root) that this code does not make.
 *
 * The legacy keys at the end opened data before tenant data keys existed
 * (`v1.` ciphertexts and unprefixed MACs); they are only ever read.
 */
type RootEnv = MasterKeyConfig & { DB: D1Database }

const cache = new Map<string, Promise<CryptoKey>>()
let cachedRoot: Promise<CryptoKey> | null = null

function derived(env: RootEnv, info: string, derive: (root: CryptoKey, info: string) => Promise<CryptoKey>): Promise<CryptoKey> {
  const root = platformRoot(env)
  if (root !== cachedRoot) {
    cache.clear()
    cachedRoot = root
  }
  let key = cache.get(info)
  if (!key) {
    key = root.then((r) => derive(r, info))
    key.catch(() => cache.delete(info))
    cache.set(info, key)
  }
  return key
}

/**
 * The HMAC key for identifiers typed at a failed sign-in that name no
 * account: the audit trail keeps a keyed hash of them, so repeated attempts
 * still correlate while a password typed into the e-mail field stays unreadable.
 */
export function identifierMacKey(env: RootEnv) {
  return derived(env, 'audit-identifier', deriveHmacKey)
}

/**
 * The HMAC-SHA-256 key that signs alert webhook deliveries. The receiver
 * derives the same key (HKDF-SHA-256, salt `mamori/v1`, info
 * `alert-webhook`, 32 bytes) from the platform's MAC root, which is the
 * MASTER_KEY the deployment had before its first master-key rotation
 * (scripts/alert-webhook-key.mjs), so a rotation does not change it.
 */
export function alertWebhookKey(env: RootEnv) {
  return derived(env, 'alert-webhook', deriveHmacKey)
}

/**
 * The HMAC key that names throttle objects and their counters: an account's
 * e-mail or a client's address never appears as a Durable Object name or key,
 * and names cannot be reversed from a list of them without the root.
 */
export function throttleNameKey(env: RootEnv) {
  return derived(env, 'throttle-name', deriveHmacKey)
}

/** Legacy: the AES-256-GCM key of `v1.` second-factor secrets of one tenant (or of the operators: `null`). */
export function legacyFactorSecretKey(env: RootEnv, tenantId: string | null) {
  return derived(env, `mfa-secret:${tenantId ?? 'platform'}`, deriveAesKey)
}

/** Legacy: the HMAC key, shared by all tenants, of unprefixed one-time-code and recovery-code MACs. */
export function legacyOtpMacKey(env: RootEnv) {
  return derived(env, 'otp-mac', deriveHmacKey)
}

/**
 * The HMAC key for the console's CSRF tokens: a token is the MAC of its
 * session's id, so it needs no storage and dies with the session.
 */
export function consoleCsrfKey(env: RootEnv) {
  return derived(env, 'console-csrf', deriveHmacKey)
}
