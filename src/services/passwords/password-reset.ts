import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { tenants, users } from '../../db/schema'
import type { Defer } from '../../lib/defer'
import { ID_PATTERN } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import { audit, auditChange, type AuditActor } from '../audit/audit'
import { deliverMail, queueMail } from '../mail/mail'
import { messages, pickLocale } from '../../i18n'
import { rememberPassword } from './password-policy'
import { hashPassword, temporaryPassword } from './passwords'
import { endPendingChallenges } from '../identity/mfa'
import { endActorSessions } from '../identity/sessions'
import { accountKey, tenantRealm } from '../abuse/keys'
import { releaseAccount } from '../abuse/release'

/**
 * Forced password reset (SE-14) by a tenant admin, or by an operator for a
 * tenant admin (`adminsOnly`). The system generates the temporary password
 * (nobody chooses it) and returns it once; the old password is dead at once,
 * every session of the account ends, the next sign-in must change it, and
 * the user is told by mail. After an operator's reset the next sign-in also
 * needs a code mailed to the admin's own address: the operator saw the
 * temporary password, and must not be able to use it to read the tenant's
 * data without a support grant (SE-26). The account's sign-in and
 * second-factor locks are lifted too.
 */
export async function forceReset(
  env: Env,
  db: Database,
  target: { tenantId: string; userId: string },
  actor: AuditActor,
  meta: RequestMeta,
  options: { adminsOnly?: boolean; defer: Defer },
) {
  const notFound = () => Problem.notFound('user', target.userId)
  if (!ID_PATTERN.test(target.userId)) throw notFound()
  if (actor.type === 'user' && actor.id === target.userId) {
    // A session token alone must not become lasting control of the account: one's own password
    // changes only with the current one.
    await audit(env, meta, {
      tenantId: target.tenantId,
      actor,
      action: 'auth.password_reset',
      target: { type: 'user', id: target.userId },
      outcome: 'denied',
      details: { reason: 'own_account' },
    })
    throw Problem.forbidden(
      'You cannot force-reset your own password. Change it with POST /api/v1/auth/password, which asks for the current one.',
      'own-password-reset',
    )
  }
  const row = await db
    .select({ user: users, tenantName: tenants.name, slug: tenants.slug, tenantLanguage: tenants.language })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.id, target.userId), eq(users.tenantId, target.tenantId)))
    .get()
  // Operators may only reach admins; a member is as invisible to them as a missing id.
  if (!row || (options.adminsOnly && row.user.role !== 'admin')) throw notFound()
  const user = row.user
  const password = temporaryPassword()
  const now = isoNow()
  const text = messages(pickLocale(user.language, row.tenantLanguage)).mail.passwordResetByAdmin({
    tenantName: row.tenantName,
    by: actor.type === 'operator' ? 'operator' : 'admin',
    at: now,
  })
  const mail = queueMail(db, { tenantId: target.tenantId, to: user.email, subject: text.subject, body: text.text })
  await auditChange(
    env,
    meta,
    {
      tenantId: target.tenantId,
      actor,
      action: 'auth.password_reset',
      target: { type: 'user', id: user.id },
      outcome: 'success',
      details: { role: user.role },
    },
    [
      db
        .update(users)
        .set({
          passwordHash: await hashPassword(password),
          passwordChangedAt: now,
          mustChangePassword: true,
          verifyEmailAtSignIn: actor.type === 'operator',
          updatedAt: now,
        })
        .where(and(eq(users.id, user.id), eq(users.tenantId, target.tenantId)))
        .toSQL(),
      mail.write,
      ...rememberPassword(db, { tenantId: target.tenantId, accountId: user.id }, user.passwordHash, now),
      endPendingChallenges(db, user.id, now),
    ],
    notFound,
  )
  const revoked = await endActorSessions(env, { tenantId: target.tenantId, actorId: user.id })
  // A new password nobody guessed: the account's locks and failure runs end with the old one.
  await releaseAccount(env, accountKey(tenantRealm(row.slug), user.email))
  options.defer(deliverMail(env, db, [mail.id]))
  return { temporary_password: password, sessions_revoked: revoked }
}
