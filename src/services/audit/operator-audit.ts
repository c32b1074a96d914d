import { and, gt, inArray } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { jsonList } from '../../db/json-list'
import { supportGrants } from '../../db/schema'
import { isoNow } from '../../lib/time'
import type { AuditFilter } from '../../schemas/audit'
import { searchAudit } from './audit'

/**
 * The operators' view of the audit trail: every chain, but the `details` of
 * what a tenant's own people did (names, e-mail addresses, file names: the
 * tenant's data) are withheld unless that tenant grants support access now
 * (SE-26). Who did what, when, from where and with what outcome stays
 * visible for security operations, and operators' own actions stay whole.
 */
export async function operatorAuditView(
  db: Database,
  filter: AuditFilter & { tenant_id?: string | undefined },
  limit: number,
  cursor: string | undefined,
) {
  const found = await searchAudit(db, { allTenants: true }, filter, limit, cursor)
  const tenantIds = [...new Set(found.items.map((e) => e.tenant_id).filter((id): id is string => id !== null))]
  const granted = new Set(
    tenantIds.length
      ? (
          await db
            .select({ tenantId: supportGrants.tenantId })
            .from(supportGrants)
            // One parameter for the page's tenants, however many (up to 200) it spans.
            .where(and(inArray(supportGrants.tenantId, jsonList(tenantIds)), gt(supportGrants.expiresAt, isoNow())))
        ).map((g) => g.tenantId)
      : [],
  )
  return {
    ...found,
    items: found.items.map((e) =>
      e.tenant_id === null || e.actor_type === 'operator' || granted.has(e.tenant_id)
        ? e
        : { ...e, details: { withheld: 'support access not granted' } },
    ),
  }
}
