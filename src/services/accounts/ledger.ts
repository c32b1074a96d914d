import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { mfaFactors, users } from '../../db/schema'
import { toCsv } from '../../lib/csv'
import type { RequestMeta } from '../../lib/request-meta'
import { DAY_MS } from '../../lib/time'
import { PERMISSIONS, type Permission } from '../../schemas/permissions'
import { audit, type AuditActor } from '../audit/audit'
import { auditExtraction } from '../alerts/detectors'
import { describeLimits, tenantLimits } from '../tenancy/limits'
import { assertExportAllowed, exportAllowance, exportLimited } from '../usage/export-limit'


/**
 * The account ledger (SE-18): every account of the tenant with its role,
 * status, permissions and what each allows in plain words, second factors,
 * password age, last sign-in, and who created it when; and the tenant's
 * limits in force (plan or contract), which the JSON form carries beside the
 * accounts. Reading it is audited; the CSV form (accounts only, one row
 * each) counts as a data extraction.
 */
export async function accountLedger(env: Env, db: Database, tenantId: string, actor: AuditActor, meta: RequestMeta, format: 'json' | 'csv', now = Date.now()) {
  if (format === 'csv') await assertExportAllowed(db, tenantId, 'ledger.export', now)
  const rows = await db
    .select({
      id: users.id,
      name: users.name,
      email: users.email,
      role: users.role,
      status: users.status,
      permissions: users.permissions,
      passwordChangedAt: users.passwordChangedAt,
      lastLoginAt: users.lastLoginAt,
      createdBy: users.createdBy,
      createdAt: users.createdAt,
    })
    .from(users)
    .where(eq(users.tenantId, tenantId))
    .orderBy(users.createdAt)
  // Joined on the tenant's accounts, not an IN list of their ids: a tenant has up to 1,000 accounts and D1 binds at most 100 parameters.
  const factors = await db
    .select({ accountId: mfaFactors.accountId, kind: mfaFactors.kind })
    .from(mfaFactors)
    .innerJoin(users, eq(users.id, mfaFactors.accountId))
    .where(and(eq(users.tenantId, tenantId), eq(mfaFactors.status, 'active')))
    .orderBy(mfaFactors.accountId, mfaFactors.kind)
  const factorsOf = Map.groupBy(factors, (f) => f.accountId)
  const items = rows.map((u) => {
    const permissions = u.permissions as Permission[]
    return {
      id: u.id,
      name: u.name,
      email: u.email,
      role: u.role,
      status: u.status,
      permissions,
      permissions_explained: permissions.map((p) => ({ permission: p, allows: PERMISSIONS[p] })),
      mfa: (factorsOf.get(u.id) ?? []).map((f) => f.kind),
      password_age_days: Math.floor((now - Date.parse(u.passwordChangedAt)) / DAY_MS),
      password_changed_at: u.passwordChangedAt,
      last_login_at: u.lastLoginAt,
      created_by: u.createdBy,
      created_at: u.createdAt,
    }
  })
  const entry = {
    tenantId,
    actor,
    action: format === 'csv' ? ('ledger.export' as const) : ('ledger.read' as const),
    target: { type: 'tenant', id: tenantId },
    outcome: 'success' as const,
    details: { format, accounts: items.length },
  }
  if (format === 'csv') {
    // The CSV download is an export: limited per hour, counted by its own audit events, and
    // counted towards the account's download-burst alert; reading the ledger in the console is not.
    const recorded = await auditExtraction(env, meta, entry, { guards: [exportAllowance(tenantId, 'ledger.export', now)] })
    if (!recorded.ok) throw await exportLimited(db, tenantId, 'ledger.export', now)
  } else {
    await audit(env, meta, entry)
  }
  // The ledger is one document (every account at once), so a JSON list is always a single page.
  if (format === 'json') {
    const limits = await tenantLimits(db, tenantId)
    return { items, next_cursor: null, plan: limits?.plan ?? null, limits: limits ? describeLimits(limits) : null }
  }
  return toCsv(
    ['id', 'name', 'email', 'role', 'status', 'permissions', 'what the permissions allow', 'second factors', 'password age (days)', 'last sign-in', 'created by', 'created at'],
    items.map((i) => [
      i.id,
      i.name,
      i.email,
      i.role,
      i.status,
      i.permissions.join(' '),
      i.permissions_explained.map((p) => `${p.permission}: ${p.allows}`).join(' / '),
      i.mfa.join(' ') || 'none',
      i.password_age_days,
      i.last_login_at ?? 'never',
      i.created_by,
      i.created_at,
    ]),
  )
}
