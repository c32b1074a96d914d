import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { tenants } from '../../db/schema'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import type { TenantSettingsPatch } from '../../schemas/tenants'
import { auditChange, type AuditActor } from '../audit/audit'

/**
 * The settings a tenant's own admins keep (`GET|PATCH /api/v1/tenant`):
 * today the language of the tenant's mail, which its contact address and
 * every account without its own setting receive. Name, plan, contact and
 * limits stay with the operators (`PATCH /ops/v1/tenants/{id}`).
 */
async function row(db: Database, tenantId: string) {
  const found = await db
    .select({ id: tenants.id, slug: tenants.slug, name: tenants.name, language: tenants.language, updatedAt: tenants.updatedAt })
    .from(tenants)
    .where(eq(tenants.id, tenantId))
    .get()
  if (!found) throw Problem.notFound('tenant', tenantId)
  return found
}

export async function getTenantSettings(db: Database, tenantId: string) {
  const { updatedAt: _, ...settings } = await row(db, tenantId)
  return settings
}

/** Changes the tenant's settings; audited as `tenant.update` (old and new value) when something changes. */
export async function updateTenantSettings(env: Env, db: Database, tenantId: string, patch: TenantSettingsPatch, actor: AuditActor, meta: RequestMeta) {
  const current = await row(db, tenantId)
  const language = patch.language ?? current.language
  if (language !== current.language) {
    await auditChange(
      env,
      meta,
      {
        tenantId,
        actor,
        action: 'tenant.update',
        target: { type: 'tenant', id: tenantId },
        outcome: 'success',
        details: { changes: { language: { from: current.language, to: language } } },
      },
      [
        db
          .update(tenants)
          .set({ language, updatedAt: isoNow() })
          .where(and(eq(tenants.id, tenantId), eq(tenants.updatedAt, current.updatedAt)))
          .toSQL(),
      ],
      () => Problem.editConflict('The tenant was changed by someone else meanwhile. Reload it and try again.'),
    )
  }
  return getTenantSettings(db, tenantId)
}
