import { fromBase64Url, toBase64Url, utf8 } from './encoding'

/**
 * Field encryption with AES-256-GCM (DM-4) under keys derived by HKDF-SHA-256
 * from one master secret. Ciphertexts are `v1.<iv>.<ciphertext+tag>` in
 * base64url; the additional data binds each ciphertext to its owner and
 * purpose, so a value copied to another row does not decrypt.
 */
export async function importMasterKey(base64: string): Promise<CryptoKey> {
  const raw = Uint8Array.from(atob(base64.trim()), (c) => c.charCodeAt(0))
  if (raw.length !== 32) throw new Error('MASTER_KEY must be 32 random bytes, base64-encoded')
  return crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveKey'])
}

function hkdf(info: string) {
  return { name: 'HKDF', hash: 'SHA-256', salt: utf8('mamori/v1'), info: utf8(info) }
}

/** A 256-bit AES-GCM key for one purpose, derived from the master key. */
export function deriveAesKey(master: CryptoKey, info: string): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(hkdf(info), master, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
}

/** An HMAC-SHA-256 key for one purpose, derived from the master key. */
export function deriveHmacKey(master: CryptoKey, info: string): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(hkdf(info), master, { name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign', 'verify'])
}

export async function encryptText(key: CryptoKey, plaintext: string, aad: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(aad) }, key, utf8(plaintext))
  return `v1.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(sealed))}`
}

export async function decryptText(key: CryptoKey, sealed: string, aad: string): Promise<string> {
  const [version, iv, body] = sealed.split('.')
  if (version !== 'v1' || !iv || !body) throw new Error('unknown ciphertext format')
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
