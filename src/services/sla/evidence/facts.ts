import { eq, sql } from 'drizzle-orm'
import { plans, tenants } from '../../../db/schema'
import { idFloor } from '../../../lib/ids'
import { DEFAULT_POLICY, type Policy } from '../../../schemas/policy'
import { auditChainState, PLATFORM_CHAIN } from '../../audit/audit'
import { currentHashParams } from '../../passwords/passwords'
import { loadPolicy } from '../../policy/policy'
import { inForceSql, limitsOf, type TenantLimits } from '../../tenancy/limits'
import type { EvidenceContext } from './provider'

/**
 * The few reads a report is made of, each run once per report however many
 * providers use it (EvidenceContext.once). Each is one query (or one Durable
 * Object call) for a tenant's report and one aggregate query for the
 * platform's, never one per tenant or per account.
 */

type Row = Record<string, unknown>

const num = (value: unknown) => Number(value ?? 0)

export type TenantFacts = {
  id: string
  slug: string
  name: string
  status: string
  plan: { id: string; name: string; seats: number; concurrentSessions: number; storageBytes: number; requestsPerMinute: number; requestsPerMonth: number }
  /** The limits in force: the plan's, or an operator's per-contract override (services/tenancy/limits.ts). */
  limits: TenantLimits
  storageUsedBytes: number
  createdAt: string
}

/** The report's tenant with its plan and limits in force; null when there is no such tenant. */
export function tenantFacts(ctx: EvidenceContext): Promise<TenantFacts | null> {
  return ctx.once('tenant', async () => {
    if (ctx.tenantId === null) return null
    const row = await ctx.db.select({ tenant: tenants, plan: plans }).from(tenants).innerJoin(plans, eq(plans.id, tenants.planId)).where(eq(tenants.id, ctx.tenantId)).get()
    if (!row) return null
    const { tenant, plan } = row
    return {
      id: tenant.id,
      slug: tenant.slug,
      name: tenant.name,
      status: tenant.status,
      plan: {
        id: plan.id,
        name: plan.name,
        seats: plan.seats,
        concurrentSessions: plan.concurrentSessions,
        storageBytes: plan.storageBytes,
        requestsPerMinute: plan.requestsPerMinute,
        requestsPerMonth: plan.requestsPerMonth,
      },
      limits: limitsOf(tenant, plan),
      storageUsedBytes: tenant.storageUsedBytes,
      createdAt: tenant.createdAt,
    }
  })
}

/** The tenant's policy in force, and when it was saved ('' for the platform defaults). */
export function tenantPolicy(ctx: EvidenceContext & { tenantId: string }): Promise<{ policy: Policy; savedAt: string }> {
  return ctx.once('policy', async () => {
    const { policy, version } = await loadPolicy(ctx.db, ctx.tenantId)
    return { policy, savedAt: version }
  })
}

/** How the tenants' own policies depart from the platform defaults (platform view). */
export type PolicySpread = {
  tenants: number
  ownPolicies: number
  adminAgeMin: number | null
  adminAgeStricter: number
  memberAgeMin: number | null
  memberAgeStricter: number
  minLengthMax: number | null
  minLengthStricter: number
  mfa: { admin: number; member: number }
  ipAllowlist: { admin: number; member: number }
  clientCert: { admin: number; member: number }
}

export function policySpread(ctx: EvidenceContext): Promise<PolicySpread> {
  return ctx.once('policy-spread', async () => {
    const d = DEFAULT_POLICY
    const row = (await ctx.db.get<Row>(sql`
      SELECT (SELECT count(*) FROM tenants) AS tenants, count(*) AS own,
        min(json_extract(policy, '$.password_max_age_days.admin')) AS admin_age_min,
        sum(json_extract(policy, '$.password_max_age_days.admin') < ${d.password_max_age_days.admin}) AS admin_age_stricter,
        min(json_extract(policy, '$.password_max_age_days.member')) AS member_age_min,
        sum(json_extract(policy, '$.password_max_age_days.member') < ${d.password_max_age_days.member}) AS member_age_stricter,
        max(json_extract(policy, '$.password_min_length')) AS min_length_max,
        sum(json_extract(policy, '$.password_min_length') > ${d.password_min_length}) AS min_length_stricter,
        sum(json_extract(policy, '$.mfa_required.admin')) AS mfa_admin,
        sum(json_extract(policy, '$.mfa_required.member')) AS mfa_member,
        sum(json_array_length(policy, '$.ip_allowlist.admin') > 0) AS ip_admin,
        sum(json_array_length(policy, '$.ip_allowlist.member') > 0) AS ip_member,
        sum(json_extract(policy, '$.client_cert_required.admin')) AS cert_admin,
        sum(json_extract(policy, '$.client_cert_required.member')) AS cert_member
      FROM tenant_policies`))!
    const orNull = (v: unknown) => (v === null || v === undefined ? null : Number(v))
    return {
      tenants: num(row.tenants),
      ownPolicies: num(row.own),
      adminAgeMin: orNull(row.admin_age_min),
      adminAgeStricter: num(row.admin_age_stricter),
      memberAgeMin: orNull(row.member_age_min),
      memberAgeStricter: num(row.member_age_stricter),
      minLengthMax: orNull(row.min_length_max),
      minLengthStricter: num(row.min_length_stricter),
      mfa: { admin: num(row.mfa_admin), member: num(row.mfa_member) },
      ipAllowlist: { admin: num(row.ip_admin), member: num(row.ip_member) },
      clientCert: { admin: num(row.cert_admin), member: num(row.cert_member) },
    }
  })
}

/** Active accounts of one role, as the evidence counts them. */
export type RoleStats = {
  accounts: number
  /** Passwords older than the role's maximum age: the next sign-in must change them. */
  overdue: number
  oldestPasswordChange: string | null
  mustChange: number
  /** Accounts with any active second factor. */
  withMfa: number
  emailOtp: number
  totp: number
  withCertificate: number
  /** Hashes with the scrypt parameters new hashes get; older ones are re-hashed at the next sign-in. */
  currentHash: number
  withDownload: number
  withExport: number
}

export type AccountStats = { admin: RoleStats; member: RoleStats }

const EMPTY_ROLE: RoleStats = {
  accounts: 0,
  overdue: 0,
  oldestPasswordChange: null,
  mustChange: 0,
  withMfa: 0,
  emailOtp: 0,
  totp: 0,
  withCertificate: 0,
  currentHash: 0,
  withDownload: 0,
  withExport: 0,
}

/** The LIKE pattern of a hash made with the current parameters. */
export function currentHashPattern() {
  const { logN, r, p } = currentHashParams()
  return `scrypt$ln=${logN},r=${r},p=${p}$%`
}

/**
 * Active accounts by role: the tenant's, or every tenant's for the platform
 * view (each account measured against its own tenant's maximum age).
 */
export function accountStats(ctx: EvidenceContext): Promise<AccountStats> {
  return ctx.once('accounts', async () => {
    const at = new Date(ctx.now).toISOString()
    const d = DEFAULT_POLICY.password_max_age_days
    const maxAge =
      ctx.tenantId === null
        ? sql`COALESCE(json_extract(p.policy, '$.password_max_age_days.' || u.role), CASE u.role WHEN 'admin' THEN ${d.admin} ELSE ${d.member} END)`
        : await (async () => {
            const { policy } = await tenantPolicy({ ...ctx, tenantId: ctx.tenantId! })
            return sql`CASE u.role WHEN 'admin' THEN ${policy.password_max_age_days.admin} ELSE ${policy.password_max_age_days.member} END`
          })()
    const scope = ctx.tenantId === null ? sql`1 = 1` : sql`u.tenant_id = ${ctx.tenantId}`
    const rows = await ctx.db.all<Row>(sql`
      SELECT u.role AS role, count(*) AS accounts,
        sum(julianday(${at}) - julianday(u.password_changed_at) > ${maxAge}) AS overdue,
        min(u.password_changed_at) AS oldest,
        sum(u.must_change_password) AS must_change,
        sum(EXISTS (SELECT 1 FROM mfa_factors f WHERE f.account_id = u.id AND f.status = 'active')) AS mfa,
        sum(EXISTS (SELECT 1 FROM mfa_factors f WHERE f.account_id = u.id AND f.status = 'active' AND f.kind = 'email')) AS email_otp,
        sum(EXISTS (SELECT 1 FROM mfa_factors f WHERE f.account_id = u.id AND f.status = 'active' AND f.kind = 'totp')) AS totp,
        sum(EXISTS (SELECT 1 FROM account_certificates c WHERE c.user_id = u.id)) AS certificate,
        sum(u.password_hash LIKE ${currentHashPattern()}) AS current_hash,
        sum(EXISTS (SELECT 1 FROM json_each(u.permissions) WHERE value = 'download')) AS download,
        sum(EXISTS (SELECT 1 FROM json_each(u.permissions) WHERE value = 'export')) AS export
      FROM users u LEFT JOIN tenant_policies p ON p.tenant_id = u.tenant_id
      WHERE ${scope} AND u.status = 'active'
      GROUP BY u.role`)
    const stats: AccountStats = { admin: { ...EMPTY_ROLE }, member: { ...EMPTY_ROLE } }
    for (const row of rows) {
      if (row.role !== 'admin' && row.role !== 'member') continue
      stats[row.role] = {
        accounts: num(row.accounts),
        overdue: num(row.overdue),
        oldestPasswordChange: row.oldest === null ? null : String(row.oldest),
        mustChange: num(row.must_change),
        withMfa: num(row.mfa),
        emailOtp: num(row.email_otp),
        totp: num(row.totp),
        withCertificate: num(row.certificate),
        currentHash: num(row.current_hash),
        withDownload: num(row.download),
        withExport: num(row.export),
      }
    }
    return stats
  })
}

/** Active operators (platform view): every one signs in with a second factor. */
export function operatorStats(ctx: EvidenceContext): Promise<{ accounts: number; currentHash: number; totp: number }> {
  return ctx.once('operators', async () => {
    const row = (await ctx.db.get<Row>(sql`
      SELECT count(*) AS accounts, sum(o.password_hash LIKE ${currentHashPattern()}) AS current_hash,
        sum(EXISTS (SELECT 1 FROM mfa_factors f WHERE f.account_id = o.id AND f.status = 'active' AND f.kind = 'totp')) AS totp
      FROM operators o WHERE o.status = 'active'`))!
    return { accounts: num(row.accounts), currentHash: num(row.current_hash), totp: num(row.totp) }
  })
}

/** Audit events of the report month by action and outcome (the tenant's, or every chain's). */
export type MonthEvents = { count(action: string, outcome?: string): number; total: number }

/**
 * The month is bounded by event id (ids sort by creation time), so the
 * tenant's query is a range on its (tenant_id, id) index and the platform's a
 * range on the primary key, however long the trail is.
 */
export function monthEvents(ctx: EvidenceContext): Promise<MonthEvents> {
  return ctx.once('month-events', async () => {
    const from = idFloor('evt', Date.parse(ctx.month.from))
    const until = idFloor('evt', Date.parse(ctx.month.until))
    const scope = ctx.tenantId === null ? sql`1 = 1` : sql`tenant_id = ${ctx.tenantId}`
    const rows = await ctx.db.all<Row>(sql`
      SELECT action, outcome, count(*) AS n FROM audit_events
      WHERE ${scope} AND id >= ${from} AND id < ${until} GROUP BY action, outcome`)
    const counts = rows.map((r) => ({ action: String(r.action), outcome: String(r.outcome), n: num(r.n) }))
    return {
      total: counts.reduce((sum, r) => sum + r.n, 0),
      count: (action, outcome) => counts.filter((r) => r.action === action && (outcome === undefined || r.outcome === outcome)).reduce((s, r) => s + r.n, 0),
    }
  })
}

/** Failed scheduled self-checks in the month: platform events, whoever's report it is. */
export function selfCheckFailures(ctx: EvidenceContext): Promise<number> {
  return ctx.once('self-check-failures', async () => {
    if (ctx.tenantId === null) return (await monthEvents(ctx)).count('security.self_check_failed')
    const row = (await ctx.db.get<Row>(sql`
      SELECT count(*) AS n FROM audit_events
      WHERE tenant_id IS NULL AND action = 'security.self_check_failed'
        AND id >= ${idFloor('evt', Date.parse(ctx.month.from))} AND id < ${idFloor('evt', Date.parse(ctx.month.until))}`))!
    return num(row.n)
  })
}

export type ChainFacts = {
  chain: string
  /** Events the chain's sequencer has committed (seq is gapless, so the head's seq is the count). */
  events: number
  headSeq: number | null
  verifiedThroughSeq: number | null
  /** When the oldest event kept was recorded; null when there is none. */
  firstEventAt: string | null
  /** The chain's first event is still there: nothing was pruned from its start. */
  firstEventKept: boolean
}

/** The report's audit chain (the tenant's, or the platform's) as its sequencer anchored it. */
export function chainFacts(ctx: EvidenceContext): Promise<ChainFacts> {
  return ctx.once('chain', async () => {
    const chain = ctx.tenantId ?? PLATFORM_CHAIN
    const [state, first] = await Promise.all([
      auditChainState(ctx.env, chain),
      ctx.db.get<Row | undefined>(sql`SELECT at FROM audit_events WHERE chain = ${chain} AND seq = 1`),
    ])
    const headSeq = state.head?.seq ?? null
    return {
      chain,
      events: headSeq ?? 0,
      headSeq,
      verifiedThroughSeq: state.verified?.seq ?? null,
      firstEventAt: first ? String(first.at) : null,
      firstEventKept: headSeq === null || headSeq === 0 || first !== undefined,
    }
  })
}

/** Every tenant's plan, limits in force and storage, in aggregate (platform view). */
export type PlanSpread = {
  plans: { id: string; name: string; seats: number; concurrentSessions: number; storageBytes: number; requestsPerMinute: number; requestsPerMonth: number }[]
  tenants: number
  activeTenants: number
  storageUsedBytes: number
  /** Measured against each tenant's storage limit in force. */
  overQuota: number
  fullestRatio: number | null
  /** Measured against each tenant's seat limit in force. */
  atSeatLimit: number
  overSeatLimit: number
  /** Tenants with an operator's per-contract override, per limit and of any limit. */
  overrides: { any: number; seats: number; concurrentSessions: number; storageBytes: number; requestsPerMinute: number; requestsPerMonth: number }
}

export function planSpread(ctx: EvidenceContext): Promise<PlanSpread> {
  return ctx.once('plans', async () => {
    const storageLimit = sql.raw(inForceSql('storage_bytes', 't'))
    const seatLimit = sql.raw(inForceSql('seats', 't'))
    const [plans, storage, seats] = await Promise.all([
      ctx.db.all<Row>(sql`SELECT * FROM plans ORDER BY seats`),
      ctx.db.get<Row>(sql`
        SELECT count(*) AS tenants, sum(t.status = 'active') AS active, sum(t.storage_used_bytes) AS used,
          sum(t.storage_used_bytes > ${storageLimit}) AS over_quota,
          max(t.storage_used_bytes * 1.0 / ${storageLimit}) AS fullest,
          sum(t.limit_seats IS NOT NULL OR t.limit_concurrent_sessions IS NOT NULL OR t.limit_storage_bytes IS NOT NULL
            OR t.limit_requests_per_minute IS NOT NULL OR t.limit_requests_per_month IS NOT NULL) AS own_any,
          sum(t.limit_seats IS NOT NULL) AS own_seats, sum(t.limit_concurrent_sessions IS NOT NULL) AS own_sessions,
          sum(t.limit_storage_bytes IS NOT NULL) AS own_storage, sum(t.limit_requests_per_minute IS NOT NULL) AS own_rpm,
          sum(t.limit_requests_per_month IS NOT NULL) AS own_rpmonth
        FROM tenants t`),
      ctx.db.get<Row>(sql`
        SELECT count(*) AS at_limit, sum(active > seats) AS over FROM (
          SELECT ${seatLimit} AS seats, (SELECT count(*) FROM users u WHERE u.tenant_id = t.id AND u.status = 'active') AS active
          FROM tenants t
        ) WHERE active >= seats`),
    ])
    return {
      plans: plans.map((p) => ({
        id: String(p.id),
        name: String(p.name),
        seats: num(p.seats),
        concurrentSessions: num(p.concurrent_sessions),
        storageBytes: num(p.storage_bytes),
        requestsPerMinute: num(p.requests_per_minute),
        requestsPerMonth: num(p.requests_per_month),
      })),
      tenants: num(storage!.tenants),
      activeTenants: num(storage!.active),
      storageUsedBytes: num(storage!.used),
      overQuota: num(storage!.over_quota),
      fullestRatio: storage!.fullest === null ? null : Number(storage!.fullest),
      atSeatLimit: num(seats!.at_limit),
      overSeatLimit: num(seats!.over),
      overrides: {
        any: num(storage!.own_any),
        seats: num(storage!.own_seats),
        concurrentSessions: num(storage!.own_sessions),
        storageBytes: num(storage!.own_storage),
        requestsPerMinute: num(storage!.own_rpm),
        requestsPerMonth: num(storage!.own_rpmonth),
      },
    }
  })
}
