import { and, desc, eq, notInArray } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { passwordHistory } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { newId } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import { PLATFORM } from '../../schemas/policy'
import { PASSWORD_MAX_LENGTH, verifyPassword } from './passwords'
import { estimateStrength } from './password-strength'

/** zxcvbn score a new password must reach: 3 = "safely unguessable" (about 10^8 guesses or more). */
const MIN_SCORE = 3

export type PasswordContext = {
  email: string
  /** The tenant's slug; null for operators. */
  tenantSlug: string | null
  minLength: number
}

/**
 * Why a new password is not acceptable, in words a user understands, or
 * null (SE-15/20): long enough, not built from the account's own e-mail or
 * organisation, and not guessable by a strength estimator with common
 * password and word lists (bounded in CPU: see password-strength.ts). No
 * composition rules.
 */
export function passwordWeakness(password: string, context: PasswordContext): string | null {
  const normalised = password.normalize('NFKC')
  const length = [...normalised].length
  if (length < context.minLength) return `Use at least ${context.minLength} characters.`
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`
  const lower = normalised.toLowerCase()
  const localPart = context.email.split('@')[0]!.toLowerCase()
  if (localPart.length >= 3 && lower.includes(localPart)) {
    return 'Do not use your e-mail address, or the name in it, in your password.'
  }
  if (context.tenantSlug && lower.includes(context.tenantSlug.toLowerCase())) {
    return `Do not use your organisation\u2019s ID (${context.tenantSlug}) in your password.`
  }
  const result = estimateStrength(normalised, [localPart, context.tenantSlug ?? ''].filter(Boolean))
  if (result.score < MIN_SCORE) {
    const why = result.feedback.warning ? ` ${result.feedback.warning}` : ''
    const tip = result.feedback.suggestions[0] ?? 'Use a longer phrase of several unrelated words.'
    return `This password is too easy to guess.${why} ${tip}`.replace(/\s+/g, ' ').trim()
  }
  return null
}

/** Throws a 422 naming `field` if the password is weak. */
export function assertStrongPassword(password: string, context: PasswordContext, field: string) {
  const weakness = passwordWeakness(password, context)
  if (weakness) throw Problem.validation([{ path: field, message: weakness }], weakness)
}

/**
 * Throws a 422 if `password` matches the current hash or one of the
 * account's remembered ones: the last `keep` passwords may not be reused.
 */
export async function assertNotReused(
  db: Database,
  accountId: string,
  currentHash: string,
  password: string,
  keep: number,
  field: string,
) {
  const earlier = await db
    .select({ hash: passwordHistory.passwordHash })
    .from(passwordHistory)
    .where(eq(passwordHistory.accountId, accountId))
    .orderBy(desc(passwordHistory.createdAt))
    .limit(Math.max(keep - 1, 0))
  for (const hash of [currentHash, ...earlier.map((r) => r.hash)]) {
    if ((await verifyPassword(password, hash)).ok) {
      const message = `You used this password recently. Choose one that differs from your last ${keep} passwords.`
      throw Problem.validation([{ path: field, message }], message)
    }
  }
}

/**
 * Writes that remember the outgoing hash and forget what is beyond the
 * platform's longest history, to commit with the password change.
 */
export function rememberPassword(db: Database, account: { tenantId: string | null; accountId: string }, outgoingHash: string, at: string): SqlWrite[] {
  const id = newId('ph')
  const keep = db
    .select({ id: passwordHistory.id })
    .from(passwordHistory)
    .where(eq(passwordHistory.accountId, account.accountId))
    .orderBy(desc(passwordHistory.createdAt))
    .limit(PLATFORM.passwordHistory.max)
  return [
    db.insert(passwordHistory).values({ id, tenantId: account.tenantId, accountId: account.accountId, passwordHash: outgoingHash, createdAt: at }).toSQL(),
    db
      .delete(passwordHistory)
      .where(and(eq(passwordHistory.accountId, account.accountId), notInArray(passwordHistory.id, keep)))
      .toSQL(),
  ]
}
