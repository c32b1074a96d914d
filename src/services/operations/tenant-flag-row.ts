import { eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { tenantMaintenance } from '../../db/schema'
import { FLAG_OFF, type MaintenanceFlag } from '../../lib/maintenance'

export type TenantFlagRow = typeof tenantMaintenance.$inferSelect

/** A tenant's flag as its D1 row holds it; a tenant without a row has never had one (off, version 0). */
export function flagOfRow(row: Pick<TenantFlagRow, 'enabled' | 'message' | 'startsAt' | 'until' | 'windowId' | 'version'> | null | undefined): MaintenanceFlag {
  if (!row) return FLAG_OFF
  return { enabled: row.enabled, message: row.message, from: row.startsAt, until: row.until, windowId: row.windowId, version: row.version }
}

/** A tenant's flag from D1 (one indexed read by primary key). */
export async function tenantFlag(db: Database, tenantId: string): Promise<MaintenanceFlag> {
  return flagOfRow(await db.select().from(tenantMaintenance).where(eq(tenantMaintenance.tenantId, tenantId)).get())
}
