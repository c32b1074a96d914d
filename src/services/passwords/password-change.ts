import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { users } from '../../db/schema'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import type { Principal } from '../../schemas/principal'
import { auditChange } from '../audit/audit'
import { assertCurrentPassword, currentUser } from '../identity/me'
import { assertNotReused, assertStrongPassword, rememberPassword } from './password-policy'
import { hashPassword } from './passwords'
import { getPolicy } from '../policy/policy'
import { endActorSessions, upgradeSession } from '../identity/sessions'
import { sessionLimits } from '../identity/tenant-auth'
import { toUser } from '../accounts/users'

/**
 * Changes the caller's password after checking the current one, the
 * tenant's length rule, guessability and the no-reuse history. The caller's
 * session stays valid (a password-change-only session becomes a full one);
 * every other session of the account ends.
 */
export async function changePassword(
  env: Env,
  db: Database,
  principal: Principal,
  input: { current_password: string; new_password: string },
  meta: RequestMeta,
) {
  const user = await currentUser(db, principal)
  await assertCurrentPassword(env, user, input.current_password, meta, 'auth.password_change')
  const policy = await getPolicy(db, user.tenantId)
  const field = 'body.new_password'
  assertStrongPassword(input.new_password, { email: user.email, tenantSlug: user.tenantSlug, minLength: policy.password_min_length }, field)
  await assertNotReused(db, user.id, user.passwordHash, input.new_password, policy.password_history, field)

  const now = isoNow()
  const changed = { passwordHash: await hashPassword(input.new_password), passwordChangedAt: now, mustChangePassword: false, updatedAt: now }
  await auditChange(
    env,
    meta,
    { tenantId: user.tenantId, actor: { type: 'user', id: user.id }, action: 'auth.password_change', target: { type: 'user', id: user.id }, outcome: 'success' },
    [
      // Only over the password that was checked: a forced reset meanwhile wins.
      db
        .update(users)
        .set(changed)
        .where(and(eq(users.id, user.id), eq(users.tenantId, user.tenantId), eq(users.passwordHash, user.passwordHash)))
        .toSQL(),
      ...rememberPassword(db, { tenantId: user.tenantId, accountId: user.id }, user.passwordHash, now),
    ],
    () => Problem.editConflict('Your password was changed or reset meanwhile. Sign in again.'),
  )
  await endActorSessions(env, principal, principal.sessionId)
  const session = await upgradeSession(env, principal, sessionLimits(policy))
  if (!session) throw Problem.unauthenticated('Your session ended meanwhile: sign in with the new password.')
  const { tenantSlug: _slug, ...row } = user
  return { status: 'ok' as const, expires_at: session.expiresAt, user: toUser({ ...row, ...changed }) }
}
