import type { ThrottleRule } from '../../durable/throttle'
import { DAY_MS } from '../../lib/time'

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS

/** A wait from one minute that doubles with each further block, up to an hour. */
const GROWING = { firstMs: MINUTE_MS, maxMs: HOUR_MS } as const

/**
 * Every throttle of the abuse defence (SE-30, SE-31, SE-32), by scope. The
 * account-side scopes live in the account's object (realm and e-mail), the
 * network-side ones in the client network's object (IPv4 address or IPv6 /64).
 *
 * - `pair`: one account from one network; 10 failed sign-ins in a row, then
 *   a growing wait (Auth0's user+IP block). Its key is the network, so the
 *   owner elsewhere is not affected.
 * - `account`: one account from anywhere; 100 in a row lock it until an
 *   admin unlocks it or the owner resets the password (NIST SP 800-63B).
 * - `ip`: failed sign-ins from one network across accounts and tenants, 100 a day.
 * - `mfa`: wrong second-factor codes of one account across all its
 *   challenges and step-up codes, 10 in a row, then locked likewise.
 * - `mfa_mail`: codes mailed to one account and not answered, 5 an hour.
 * - `reauth`: wrong current passwords of a signed-in account, 10 in a row, then a growing wait.
 * - `reset_mail`, `reset_code`, `reset_ip`: the self-service password reset.
 * - `bootstrap`, `token`, `challenge`: per network, bad bootstrap tokens,
 *   bearer tokens that name a session store but no session in it, and
 *   answers to dead or unknown sign-in challenges.
 */
export const LIMITS = {
  pair: { kind: 'consecutive', limit: 10, block: GROWING, forgetMs: DAY_MS },
  account: { kind: 'consecutive', limit: 100, block: 'lock', forgetMs: 30 * DAY_MS },
  ip: { kind: 'window', limit: 100, windowMs: DAY_MS },
  mfa: { kind: 'consecutive', limit: 10, block: 'lock', forgetMs: 30 * DAY_MS },
  mfa_mail: { kind: 'window', limit: 5, windowMs: HOUR_MS },
  reauth: { kind: 'consecutive', limit: 10, block: GROWING, forgetMs: DAY_MS },
  reset_mail: { kind: 'window', limit: 3, windowMs: HOUR_MS },
  reset_code: { kind: 'consecutive', limit: 10, block: GROWING, forgetMs: DAY_MS },
  reset_ip: { kind: 'window', limit: 30, windowMs: HOUR_MS },
  bootstrap: { kind: 'window', limit: 10, windowMs: HOUR_MS },
  token: { kind: 'window', limit: 100, windowMs: HOUR_MS },
  challenge: { kind: 'window', limit: 30, windowMs: HOUR_MS },
} as const satisfies Record<string, ThrottleRule>

export type Scope = keyof typeof LIMITS

/** What a lock's answer suggests as Retry-After: it never lifts by itself, so this is only a polite hint. */
export const LOCK_RETRY_HINT_SECONDS = 3600

/**
 * What a refused caller reads, per scope. The same words whether or not the
 * account exists, so a refusal reveals nothing.
 */
export const REFUSAL_DETAIL: Record<Scope, string> = {
  pair: 'Too many failed sign-ins for this account from your network. Wait before trying again, or reset the password (POST /api/v1/auth/password-reset).',
  account:
    'Too many failed sign-ins for this account: it is locked. Reset the password with a code mailed to its address (POST /api/v1/auth/password-reset), or ask an administrator to unlock it.',
  ip: 'Too many failed sign-ins from your network today. Try again later.',
  mfa: 'Too many wrong second-factor codes: this account\u2019s second step is locked. Reset the password (POST /api/v1/auth/password-reset), or ask an administrator to unlock it.',
  mfa_mail: 'Too many codes were mailed to this account in the last hour and not used. Use the latest code, or wait.',
  reauth: 'Too many wrong current passwords. Wait before trying again.',
  reset_mail: 'A reset code was mailed several times in the last hour. Use the latest code, or wait.',
  reset_code: 'Too many wrong reset codes for this account. Wait before trying again.',
  reset_ip: 'Too many password-reset requests from your network. Try again later.',
  bootstrap: 'Too many bad bootstrap tokens from your network. Try again later.',
  token: 'Too many unknown session tokens from your network. Sign in again later.',
  challenge: 'Too many answers to expired or unknown sign-in challenges from your network. Try again later.',
}
