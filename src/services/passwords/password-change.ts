import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { users } from '../../db/schema'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import type { Principal } from '../../schemas/principal'
import { auditChange } from '../audit/audit'
import { currentUser, reauthenticatingUser } from '../identity/me'
import { assertCurrentPasswordThrottled } from './current-password'
import { accountKey, tenantRealm } from '../abuse/keys'
import { releaseAccount } from '../abuse/release'
import { endPendingChallenges } from '../identity/mfa'
import { assertNotReused, assertStrongPassword, rememberPassword } from './password-policy'
import { hashPassword } from './passwords'
import { loadPolicy } from '../policy/policy'
import { endActorSessions, upgradeSession } from '../identity/sessions'
import { newId } from '../../lib/ids'
import { issueTenantSession, sessionLimits } from '../identity/tenant-auth'
import { toUser } from '../accounts/users'

/**
 * Changes the caller's password after checking the current one, the
 * tenant's length rule, guessability and the no-reuse history. Every other
 * session of the account ends. A full calling session stays valid; a
 * password-change-only one is replaced by a new full session whose token
 * comes back in the answer (that token was handed out on the temporary or
 * expired password, so it does not live on), and the old token ends. The
 * current password is throttled per account (`reauth`); once changed, the
 * account's sign-in failure runs and its lock end.
 */
export async function changePassword(
  env: Env,
  db: Database,
  principal: Principal,
  input: { current_password: string; new_password: string },
  meta: RequestMeta,
) {
  const user = await currentUser(db, principal)
  await assertCurrentPasswordThrottled(env, db, reauthenticatingUser(user), input.current_password, meta, 'auth.password_change')
  const loaded = await loadPolicy(db, user.tenantId)
  const { policy } = loaded
  const field = 'body.new_password'
  assertStrongPassword(input.new_password, { email: user.email, tenantSlug: user.tenantSlug, minLength: policy.password_min_length }, field)
  await assertNotReused(db, user.id, user.passwordHash, input.new_password, policy.password_history, field)

  const now = isoNow()
  const changed = { passwordHash: await hashPassword(input.new_password), passwordChangedAt: now, mustChangePassword: false, updatedAt: now }
  const { tenantSlug: _slug, ...row } = user
  // Named now so the change's event names it, but issued only once the change committed: a replacement made
  // first could end the caller's session (sessions_per_account) for a change that then fails.
  const replacementId = principal.kind === 'password_change' ? newId('ses') : null
  await auditChange(
    env,
    meta,
    {
      tenantId: user.tenantId,
      actor: { type: 'user', id: user.id },
      action: 'auth.password_change',
      target: { type: 'user', id: user.id },
      outcome: 'success',
      ...(replacementId ? { details: { session_id: replacementId, replaces_session_id: principal.sessionId } } : {}),
    },
    [
      // Only over the password that was checked: a forced reset meanwhile wins.
      db
        .update(users)
        .set(changed)
        .where(and(eq(users.id, user.id), eq(users.tenantId, user.tenantId), eq(users.passwordHash, user.passwordHash)))
        .toSQL(),
      ...rememberPassword(db, { tenantId: user.tenantId, accountId: user.id }, user.passwordHash, now),
      endPendingChallenges(db, user.id, now),
    ],
    () => Problem.editConflict('Your password was changed or reset meanwhile. Sign in again.'),
  )
  // Guessing the old password is moot now: failures others ran up against it end with it.
  await releaseAccount(env, accountKey(tenantRealm(user.tenantSlug), user.email), ['account', 'pair'])
  const result = { status: 'ok' as const, user: toUser({ ...row, ...changed }) }
  if (replacementId) {
    const replacement = await issueTenantSession(env, db, { ...row, ...changed }, loaded, meta, 'full', replacementId).catch(async (error) => {
      // The password changed all the same: the caller's token, handed out on the old one, must not live on.
      await endActorSessions(env, principal)
      throw error
    })
    await endActorSessions(env, principal, replacement.principal.sessionId)
    return { ...result, token: replacement.token, expires_at: replacement.principal.expiresAt }
  }
  // Under the new password first, so a pull that meets the lost push below spares it.
  const session = await upgradeSession(env, principal, sessionLimits(policy), now)
  await endActorSessions(env, principal, principal.sessionId)
  if (!session) throw Problem.unauthenticated('Your session ended meanwhile: sign in with the new password.')
  return { ...result, expires_at: session.expiresAt }
}
