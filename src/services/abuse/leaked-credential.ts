/**
 * Cloudflare's leaked-credentials detection, as its "Add Leaked Credentials
 * Checks Header" managed transform reports it to the Worker in the
 * `Exposed-Credential-Check` request header: 1 the username and password
 * pair was leaked, 2 the username only, 3 a similar pair, 4 the password.
 * 1, 3 and 4 say the password is known to others; 2 says nothing about it.
 *
 * Trusted as Cloudflare sets it: the zone in front of the Worker is assumed
 * to overwrite or strip a copy the client sent, as it does for its managed
 * headers. A forged copy could in any case only make a sign-in with the
 * right password stricter (a forced change, a mailed code), never looser.
 */
export const LEAKED_CREDENTIAL_HEADER = 'Exposed-Credential-Check'

const PASSWORD_LEAKED = new Set(['1', '3', '4'])

/** The header's value when it says the password is leaked, else null. */
export function leakedPasswordSignal(value: string | null | undefined): string | null {
  const trimmed = value?.trim() ?? ''
  return PASSWORD_LEAKED.has(trimmed) ? trimmed : null
}
