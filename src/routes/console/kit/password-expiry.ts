import type { UserRow } from '../../../services/accounts/users'
import type { Policy } from '../../../schemas/policy'

const DAY_MS = 86_400_000

/** Days before expiry from which every page of the console warns. */
export const EXPIRY_WARNING_DAYS = 14

/** When the account's password expires under its tenant's policy, and whether that is close enough to warn. */
export function passwordExpiry(user: Pick<UserRow, 'passwordChangedAt' | 'role'>, policy: Policy, now = Date.now()) {
  const at = Date.parse(user.passwordChangedAt) + policy.password_max_age_days[user.role] * DAY_MS
  return { at: new Date(at).toISOString(), warn: at - now <= EXPIRY_WARNING_DAYS * DAY_MS }
}
