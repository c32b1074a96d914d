import { and, count, eq, sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { tenantUsage, users } from '../../db/schema'
import { Problem } from '../../lib/problem'
import { ID_PATTERN } from '../../lib/ids'
import { jstMonth } from '../../lib/time'
import type { Usage } from '../../schemas/usage'
import { tenantSessionUsage } from '../identity/sessions'
import { describeLimits, tenantLimits } from '../tenancy/limits'
import { storageOf } from '../data/storage-quota'

/**
 * A tenant's usage against the limits in force (its plan's, or per contract
 * an operator's): requests this minute and this month, storage, seats and
 * sessions. Requests and sessions are read live from the tenant's session
 * stores, which count every request; the month is also the larger of that
 * and what the stores last wrote to D1 (tenant_usage), so a store that lost
 * its last seconds of counts in a restart never shows less than D1 holds.
 * Unknown tenants, and ids of the wrong shape, answer 404.
 */
export async function usageOf(env: Env, db: Database, tenantId: string, now = Date.now()): Promise<Usage> {
  const limits = ID_PATTERN.test(tenantId) ? await tenantLimits(db, tenantId) : null
  if (!limits) throw Problem.notFound('tenant', tenantId)
  const month = jstMonth(now)
  const [live, flushed, seats, storage] = await Promise.all([
    tenantSessionUsage(env, tenantId),
    db
      .select({ requests: sql<number>`COALESCE(sum(${tenantUsage.requests}), 0)` })
      .from(tenantUsage)
      .where(and(eq(tenantUsage.tenantId, tenantId), eq(tenantUsage.month, month)))
      .get(),
    db.select({ n: count() }).from(users).where(and(eq(users.tenantId, tenantId), eq(users.status, 'active'))).get(),
    storageOf(db, tenantId),
  ])
  const inForce = describeLimits(limits)
  const measure = (used: number, key: keyof typeof inForce) => ({ used, limit: inForce[key].limit, source: inForce[key].source })
  return {
    tenant_id: tenantId,
    plan: limits.plan,
    month,
    requests: {
      minute: measure(live.minute, 'requests_per_minute'),
      month: measure(Math.max(live.monthUsed, flushed?.requests ?? 0), 'requests_per_month'),
    },
    storage_bytes: measure(storage.used, 'storage_bytes'),
    seats: measure(seats?.n ?? 0, 'seats'),
    sessions: measure(live.sessions, 'concurrent_sessions'),
  }
}
