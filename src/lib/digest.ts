import { toHex, utf8 } from './encoding'

/** SHA-256 of a UTF-8 string, lower-case hex. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', utf8(text)))
}

/**
 * Constant-time equality of two secrets of any length: both sides are hashed
 * first so the comparison always runs over 32 bytes and leaks neither the
 * length nor the position of the first difference.
 */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [ha, hb] = await Promise.all([
    crypto.subtle.digest('SHA-256', utf8(a)),
    crypto.subtle.digest('SHA-256', utf8(b)),
  ])
  return crypto.subtle.timingSafeEqual(ha, hb)
}

/** `bytes` random bytes from the platform CSPRNG. */
export function randomBytes(bytes: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(bytes))
}
