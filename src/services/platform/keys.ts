import { deriveAesKey, deriveHmacKey, importMasterKey } from '../../lib/crypto'

/**
 * Keys derived from the MASTER_KEY secret, one per purpose and owner, so no
 * key ever serves two tenants (DM-5). Derived keys are cached per isolate.
 */
const cache = new Map<string, Promise<CryptoKey>>()
let master: { secret: string; key: Promise<CryptoKey> } | null = null

function masterKey(env: Pick<Env, 'MASTER_KEY'>): Promise<CryptoKey> {
  if (!env.MASTER_KEY) throw new Error('MASTER_KEY secret is not set')
  if (master?.secret !== env.MASTER_KEY) {
    master = { secret: env.MASTER_KEY, key: importMasterKey(env.MASTER_KEY) }
    cache.clear()
  }
  return master.key
}

function cached(name: string, make: () => Promise<CryptoKey>) {
  let key = cache.get(name)
  if (!key) {
    key = make()
    cache.set(name, key)
  }
  return key
}

/** The AES-256-GCM key for second-factor secrets of one tenant (or of the operators: `null`). */
export function factorSecretKey(env: Pick<Env, 'MASTER_KEY'>, tenantId: string | null) {
  const info = `mfa-secret:${tenantId ?? 'platform'}`
  return cached(info, async () => deriveAesKey(await masterKey(env), info))
}

/** The HMAC key that hashes e-mailed one-time codes. */
export function otpMacKey(env: Pick<Env, 'MASTER_KEY'>) {
  return cached('otp-mac', async () => deriveHmacKey(await masterKey(env), 'otp-mac'))
}

/**
 * The HMAC key for identifiers typed at a failed sign-in that name no
 * account: the audit trail keeps a keyed hash of them, so repeated attempts
 * still correlate while a password typed into the e-mail field stays unreadable.
 */
export function identifierMacKey(env: Pick<Env, 'MASTER_KEY'>) {
  return cached('audit-identifier', async () => deriveHmacKey(await masterKey(env), 'audit-identifier'))
}

/**
 * The HMAC-SHA-256 key that signs alert webhook deliveries. The receiver
 * derives the same key from MASTER_KEY (HKDF-SHA-256, salt `mamori/v1`, info
 * `alert-webhook`, 32 bytes), so it can tell our deliveries from forgeries
 * without a second secret to keep in step.
 */
export function alertWebhookKey(env: Pick<Env, 'MASTER_KEY'>) {
  return cached('alert-webhook', async () => deriveHmacKey(await masterKey(env), 'alert-webhook'))
}

/**
 * The HMAC key that names throttle objects and their counters: an account's
 * e-mail or a client's address never appears as a Durable Object name or key,
 * and names cannot be reversed from a list of them without MASTER_KEY.
 */
export function throttleNameKey(env: Pick<Env, 'MASTER_KEY'>) {
  return cached('throttle-name', async () => deriveHmacKey(await masterKey(env), 'throttle-name'))
}

/**
 * The HMAC key for the console's CSRF tokens: a token is the MAC of its
 * session's id, so it needs no storage and dies with the session.
 */
export function consoleCsrfKey(env: Pick<Env, 'MASTER_KEY'>) {
  return cached('console-csrf', async () => deriveHmacKey(await masterKey(env), 'console-csrf'))
}
