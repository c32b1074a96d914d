import { eq, sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { plans, tenants } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { Problem } from '../../lib/problem'
import { inForceSql } from '../tenancy/limits'

/**
 * The tenant's exact storage count (EX-4): file bytes plus record bytes.
 * It only changes inside the transactions that add, change or remove what it
 * counts, through the writes below, so it never drifts.
 */
export async function storageOf(db: Database, tenantId: string) {
  const row = await db
    .select({ used: tenants.storageUsedBytes, quota: sql<number>`COALESCE(${tenants.limitStorageBytes}, ${plans.storageBytes})` })
    .from(tenants)
    .innerJoin(plans, eq(plans.id, tenants.planId))
    .where(eq(tenants.id, tenantId))
    .get()
  return row ?? { used: 0, quota: 0 }
}

export async function quotaExceeded(db: Database, tenantId: string, size: number) {
  const { used, quota } = await storageOf(db, tenantId)
  return new Problem({
    status: 413,
    type: 'quota-exceeded',
    title: 'Storage quota exceeded',
    detail: `This needs ${size} bytes; your storage quota is ${quota} and ${used} are in use. Delete something or ask for a larger plan.`,
    extra: { quota_bytes: quota, used_bytes: used },
  })
}

/** The quota in force: the tenant's per-contract override, else its plan's. */
const WITHIN_QUOTA = `storage_used_bytes + (%) <= ${inForceSql('storage_bytes')}`

/**
 * Adds `delta` bytes (a number, or SQL over the current rows) to the count,
 * changing no row when the quota in force would be exceeded: use it as a
 * guarded write so the whole change rolls back then.
 */
export function reserveStorage(tenantId: string, delta: { sql: string; params: unknown[] }): SqlWrite {
  return {
    sql: `UPDATE tenants SET storage_used_bytes = storage_used_bytes + (${delta.sql})
          WHERE id = ? AND ${WITHIN_QUOTA.replace('%', delta.sql)}`,
    params: [...delta.params, tenantId, ...delta.params],
  }
}

/** Byte size of a stored record, as SQL (UTF-8 bytes of its JSON text); 0 when it does not exist. */
export function recordBytes(tenantId: string, recordId: string) {
  return {
    sql: 'COALESCE((SELECT length(CAST(data AS BLOB)) FROM records WHERE tenant_id = ? AND id = ?), 0)',
    params: [tenantId, recordId],
  }
}
