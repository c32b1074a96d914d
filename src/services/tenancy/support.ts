import { eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { supportGrants } from '../../db/schema'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { addMinutes, isoNow } from '../../lib/time'
import { audit, type AuditActor } from '../audit/audit'

export const SUPPORT_MAX_HOURS = 72

export type SupportAccess = { granted: boolean; granted_by: string | null; granted_at: string | null; expires_at: string | null }

/** The tenant's support grant, if one is in force now. */
export async function supportAccess(db: Database, tenantId: string, now = isoNow()): Promise<SupportAccess> {
  const row = await db.select().from(supportGrants).where(eq(supportGrants.tenantId, tenantId)).get()
  if (!row || row.expiresAt <= now) return { granted: false, granted_by: null, granted_at: null, expires_at: null }
  return { granted: true, granted_by: row.grantedBy, granted_at: row.grantedAt, expires_at: row.expiresAt }
}

/**
 * Lets operators read this tenant's data for `hours` (≤ 72), replacing any
 * earlier grant (SE-26). It ends by itself, or when revoked.
 */
export async function grantSupportAccess(env: Env, db: Database, tenantId: string, hours: number, actor: AuditActor, meta: RequestMeta) {
  const now = isoNow()
  const row = { tenantId, grantedBy: actor.id!, grantedAt: now, expiresAt: addMinutes(now, hours * 60) }
  await audit(
    env,
    meta,
    { tenantId, actor, action: 'support.grant', target: { type: 'tenant', id: tenantId }, outcome: 'success', details: { hours, expires_at: row.expiresAt } },
    [db.insert(supportGrants).values(row).onConflictDoUpdate({ target: supportGrants.tenantId, set: row }).toSQL()],
  )
  return supportAccess(db, tenantId)
}

/** Ends support access now. Without a grant there is nothing to end, and nothing is recorded. */
export async function revokeSupportAccess(env: Env, db: Database, tenantId: string, actor: AuditActor, meta: RequestMeta) {
  await audit(
    env,
    meta,
    { tenantId, actor, action: 'support.revoke', target: { type: 'tenant', id: tenantId }, outcome: 'success' },
    [db.delete(supportGrants).where(eq(supportGrants.tenantId, tenantId)).toSQL()],
    { guard: 0 },
  )
}

/**
 * Guards every operator read of tenant data: 403 `support-access-required`
 * without a grant in force (the refusal is audited too); with one, the read
 * is recorded in the tenant's own audit trail before it happens.
 */
export async function recordSupportRead(env: Env, db: Database, tenantId: string, what: string, actor: AuditActor, meta: RequestMeta) {
  const access = await supportAccess(db, tenantId)
  const entry = { tenantId, actor, action: 'support.read' as const, target: { type: 'tenant', id: tenantId } }
  if (!access.granted) {
    await audit(env, meta, { ...entry, outcome: 'denied', details: { what } })
    throw Problem.forbidden('This tenant has not granted support access. A tenant admin can grant it for a limited time.', 'support-access-required')
  }
  await audit(env, meta, { ...entry, outcome: 'success', details: { what, grant_expires_at: access.expires_at } })
}
