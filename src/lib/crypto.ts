import { fromBase64Url, toBase64Url, utf8 } from './encoding'

/**
 * Field encryption with AES-256-GCM (DM-4). A ciphertext names the key it
 * needs: `v2.<key id>.<iv>.<ciphertext+tag>` (base64url), under a tenant's
 * random data key (services/keys). `v1.<iv>.<ciphertext+tag>` is the legacy
 * format, under keys derived from the platform's MAC root; it is still read,
 * never written. The additional data binds each ciphertext to its owner and
 * purpose, so a value copied to another row does not decrypt.
 */
function hkdf(info: string) {
  return { name: 'HKDF', hash: 'SHA-256', salt: utf8('mamori/v1'), info: utf8(info) }
}

/** A 256-bit AES-GCM key for one purpose, derived from an HKDF root key. */
export function deriveAesKey(root: CryptoKey, info: string): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(hkdf(info), root, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
}

/** An HMAC-SHA-256 key for one purpose, derived from an HKDF root key. */
export function deriveHmacKey(root: CryptoKey, info: string): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(hkdf(info), root, { name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign', 'verify'])
}

/** Key ids never contain the separator, so a ciphertext splits unambiguously. */
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/

export type SealedText = { version: 'v1' } | { version: 'v2'; keyId: string }

/** Which key a ciphertext needs: `v2` names it; `v1` is the legacy derived key. Throws on anything else. */
export function sealedWith(sealed: string): SealedText {
  const parts = sealed.split('.')
  if (parts[0] === 'v1' && parts.length === 3) return { version: 'v1' }
  if (parts[0] === 'v2' && parts.length === 4 && KEY_ID.test(parts[1]!)) return { version: 'v2', keyId: parts[1]! }
  throw new Error('unknown ciphertext format')
}

export async function encryptText(key: CryptoKey, keyId: string, plaintext: string, aad: string): Promise<string> {
  if (!KEY_ID.test(keyId)) throw new Error('bad key id')
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(aad) }, key, utf8(plaintext))
  return `v2.${keyId}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(sealed))}`
}

/** Opens a `v1.` or `v2.` ciphertext with the key the caller picked by sealedWith(). */
export async function decryptText(key: CryptoKey, sealed: string, aad: string): Promise<string> {
  const format = sealedWith(sealed)
  const parts = sealed.split('.')
  const [iv, body] = format.version === 'v1' ? [parts[1]!, parts[2]!] : [parts[2]!, parts[3]!]
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: fromBase64Url(iv), additionalData: utf8(aad) },
    key,
    fromBase64Url(body),
  )
  return new TextDecoder().decode(plain)
}

/** HMAC-SHA-256 of `message`, base64url. */
export async function mac(key: CryptoKey, message: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8(message))))
}

/** Constant-time check of a MAC computed by mac(). */
export async function macMatches(key: CryptoKey, message: string, expected: string): Promise<boolean> {
  try {
    return await crypto.subtle.verify('HMAC', key, fromBase64Url(expected), utf8(message))
  } catch {
    return false
  }
}
