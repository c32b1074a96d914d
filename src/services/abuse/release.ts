import { throttleFor, type Released } from '../../durable/throttle'
import { accountObject, type AccountKey } from './keys'
import type { Scope } from './limits'

/** What an unlock or a password reset clears: every run of failures of the account, from every network. */
export const UNLOCK_SCOPES = ['account', 'pair', 'mfa', 'reauth', 'reset_code'] as const satisfies readonly Scope[]

export type UnlockScope = (typeof UNLOCK_SCOPES)[number]

/** Clears the account's throttles (an admin's unlock, a reset or changed password); says what was locked or blocked. */
export async function releaseAccount(env: Env, key: AccountKey, scopes: readonly Scope[] = UNLOCK_SCOPES): Promise<Released[]> {
  return throttleFor(env, await accountObject(env, key)).release([...scopes])
}

/** What releaseAccount would clear, without clearing it (to record an unlock before it is made). */
export async function accountHolds(env: Env, key: AccountKey, scopes: readonly Scope[] = UNLOCK_SCOPES): Promise<Released[]> {
  return throttleFor(env, await accountObject(env, key)).inspect([...scopes])
}

/** The scopes of `released` that were locked or blocked, for the audit trail. */
export function wasHeld(released: Released[]): UnlockScope[] {
  return released.filter((r) => r.locked || r.blocked).map((r) => r.scope as UnlockScope)
}

/** Termination (DM-7): forgets every counter of the account's throttle object (its storage and alarm). */
export async function eraseAccountThrottle(env: Env, key: AccountKey): Promise<void> {
  await throttleFor(env, await accountObject(env, key)).eraseAll()
}
