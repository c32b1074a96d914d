import { mac } from '../../lib/crypto'
import { identifierMacKey } from '../keys/platform-keys'

/**
 * The keyed hash the audit trail keeps of an identifier typed at a failed
 * sign-in when it names no account (or no tenant). People swap the fields
 * and type their password as the e-mail; stored as typed, it would sit in a
 * trail operators read in full. The HMAC key comes from the platform's MAC root, which
 * D1 does not hold, so a copy of the trail cannot be brute-forced offline,
 * and the same typed value always gives the same hash, so repeated attempts
 * still correlate. `kind` separates the fields, so a tenant slug and an
 * e-mail that happen to be spelt alike do not match.
 */
export async function attemptedIdentifierHash(env: Pick<Env, 'DB' | 'MASTER_KEY'>, kind: 'tenant' | 'email', normalised: string) {
  return mac(await identifierMacKey(env), `${kind}:${normalised}`)
}
