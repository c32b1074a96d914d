import { eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { plans, tenants } from '../../db/schema'
import { LIMIT_KEYS, type LimitKey, type LimitOverrides, type Limits, type LimitsInForce } from '../../schemas/limits'
import type { Tenant } from '../../schemas/tenants'

/**
 * A tenant's limits: the plan's, or per contract an operator's override
 * (tenants.limit_*). Every check of a limit reads the limit in force, in
 * TypeScript through limitsOf() and in SQL through IN_FORCE.
 */
export type TenantLimits = {
  tenantId: string
  plan: Tenant['plan']
  inForce: Limits
  overrides: LimitOverrides
  /** tenants.updated_at: limits only change with it, so a newer one supersedes (session-store pushes). */
  version: string
}

type TenantRow = typeof tenants.$inferSelect
type PlanRow = typeof plans.$inferSelect

const COLUMNS = {
  seats: { override: 'limitSeats', plan: 'seats', sql: 'seats' },
  concurrent_sessions: { override: 'limitConcurrentSessions', plan: 'concurrentSessions', sql: 'concurrent_sessions' },
  storage_bytes: { override: 'limitStorageBytes', plan: 'storageBytes', sql: 'storage_bytes' },
  requests_per_minute: { override: 'limitRequestsPerMinute', plan: 'requestsPerMinute', sql: 'requests_per_minute' },
  requests_per_month: { override: 'limitRequestsPerMonth', plan: 'requestsPerMonth', sql: 'requests_per_month' },
} as const satisfies Record<LimitKey, { override: keyof TenantRow; plan: keyof PlanRow; sql: string }>

/**
 * SQL for one limit in force of the tenant whose row is `tenant` (an alias
 * or table name in the surrounding statement): the override, else the plan's.
 */
export function inForceSql(key: LimitKey, tenant = 'tenants'): string {
  const c = COLUMNS[key].sql
  return `COALESCE(${tenant}.limit_${c}, (SELECT in_force_plan.${c} FROM plans in_force_plan WHERE in_force_plan.id = ${tenant}.plan_id))`
}

/** The overrides a tenant row carries, null where the plan applies. */
export function overridesOf(row: TenantRow): LimitOverrides {
  return Object.fromEntries(LIMIT_KEYS.map((k) => [k, row[COLUMNS[k].override] as number | null])) as LimitOverrides
}

/** The drizzle columns of a set of overrides, for an update. */
export function overrideColumns(overrides: Partial<LimitOverrides>): Partial<TenantRow> {
  return Object.fromEntries(
    Object.entries(overrides).map(([k, v]) => [COLUMNS[k as LimitKey].override, v]),
  ) as Partial<TenantRow>
}

export function limitsOf(row: TenantRow, plan: PlanRow): TenantLimits {
  const overrides = overridesOf(row)
  const inForce = Object.fromEntries(LIMIT_KEYS.map((k) => [k, overrides[k] ?? (plan[COLUMNS[k].plan] as number)])) as Limits
  return { tenantId: row.id, plan: row.planId as Tenant['plan'], inForce, overrides, version: row.updatedAt }
}

/** Each limit in force with where it comes from, as the ledger and the usage document show it. */
export function describeLimits(limits: TenantLimits): LimitsInForce {
  return Object.fromEntries(
    LIMIT_KEYS.map((k) => [k, { limit: limits.inForce[k], source: limits.overrides[k] === null ? 'plan' : 'contract' }]),
  ) as LimitsInForce
}

/** A tenant's limits in force, or null when there is no such tenant. One D1 read. */
export async function tenantLimits(db: Database, tenantId: string): Promise<TenantLimits | null> {
  const row = await db.select({ tenant: tenants, plan: plans }).from(tenants).innerJoin(plans, eq(plans.id, tenants.planId)).where(eq(tenants.id, tenantId)).get()
  return row ? limitsOf(row.tenant, row.plan) : null
}
