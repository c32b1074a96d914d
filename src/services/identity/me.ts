import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { tenants, users } from '../../db/schema'
import { Problem } from '../../lib/problem'
import type { Locale } from '../../i18n'
import type { Principal } from '../../schemas/principal'
import type { MePatch } from '../../schemas/auth'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import { auditChange } from '../audit/audit'
import { activeFactors } from './mfa'
import type { Reauthenticating } from '../passwords/current-password'
import { tenantRealm } from '../abuse/keys'
import { toUser, type UserRow } from '../accounts/users'

/** The signed-in account, its tenant and session. */
export async function me(db: Database, principal: Principal) {
  const row = await db
    .select({ user: users, tenant: { id: tenants.id, slug: tenants.slug, name: tenants.name, language: tenants.language } })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.id, principal.actorId), eq(users.tenantId, principal.tenantId!)))
    .get()
  if (!row) throw Problem.unauthenticated('This account no longer exists.')
  const factors = await activeFactors(db, principal.actorId)
  return {
    user: toUser(row.user),
    tenant: row.tenant,
    session: { id: principal.sessionId, expires_at: principal.expiresAt },
    mfa: { methods: factors.map((f) => f.kind) },
  }
}

/** The caller's own account row; the session must still point at a live account. */
export async function currentUser(db: Database, principal: Principal): Promise<UserRow & { tenantSlug: string; tenantLanguage: Locale }> {
  const row = await db
    .select({ user: users, slug: tenants.slug, tenantLanguage: tenants.language })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.id, principal.actorId), eq(users.tenantId, principal.tenantId!)))
    .get()
  if (!row) throw Problem.unauthenticated('This account no longer exists.')
  return { ...row.user, tenantSlug: row.slug, tenantLanguage: row.tenantLanguage }
}

/** The signed-in user as re-authentication sees them (the throttle realm their sign-in uses). */
export function reauthenticatingUser(user: UserRow & { tenantSlug: string }): Reauthenticating {
  return { type: 'user', id: user.id, tenantId: user.tenantId, email: user.email, passwordHash: user.passwordHash, realm: tenantRealm(user.tenantSlug) }
}

/**
 * An account's own settings: today its mail language (null follows the
 * tenant's). Audited as `user.update` by the account itself, only when
 * something changes; the row must still be the one read (no lost update).
 */
export async function updateMe(env: Env, db: Database, principal: Principal, patch: MePatch, meta: RequestMeta) {
  const current = await currentUser(db, principal)
  const language = patch.language !== undefined ? patch.language : current.language
  if (language !== current.language) {
    const updatedAt = isoNow()
    await auditChange(
      env,
      meta,
      {
        tenantId: current.tenantId,
        actor: { type: 'user', id: current.id },
        action: 'user.update',
        target: { type: 'user', id: current.id },
        outcome: 'success',
        details: { changes: { language: { from: current.language, to: language } }, via: 'self' },
      },
      [
        db
          .update(users)
          .set({ language, updatedAt })
          .where(and(eq(users.id, current.id), eq(users.tenantId, current.tenantId), eq(users.updatedAt, current.updatedAt)))
          .toSQL(),
      ],
      () => Problem.editConflict('Your account was changed meanwhile. Reload it and try again.'),
    )
  }
  return me(db, principal)
}
