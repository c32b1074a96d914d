import { and, desc, eq, lt } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { plans, tenantUsage, tenants, users } from '../../db/schema'
import { decodeCursor, page } from '../../lib/cursor'
import { normaliseEmail } from '../../lib/email'
import { ID_PATTERN, newId } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import { isoNow, jstMonth } from '../../lib/time'
import { ROLE_DEFAULT_PERMISSIONS } from '../../schemas/permissions'
import type { Tenant, TenantCreate, TenantPatch } from '../../schemas/tenants'
import { audit, auditChange, type AuditActor, type RequestMeta } from '../audit/audit'
import { temporaryPassword } from '../passwords/passwords'
import { SESSION_SHARDS, endTenantSessions, pushTenantQuota } from '../identity/sessions'
import { newAccount, toUser } from '../accounts/users'
import { LIMIT_KEYS } from '../../schemas/limits'
import { newTenantKeyWrite } from '../keys/tenant-keys'
import { limitsOf, overrideColumns, overridesOf, tenantLimits } from './limits'

type TenantRow = typeof tenants.$inferSelect

export function toTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    plan: row.planId as Tenant['plan'],
    status: row.status,
    contact_email: row.contactEmail,
    storage_used_bytes: row.storageUsedBytes,
    limits: overridesOf(row),
    language: row.language,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  }
}

export async function listPlans(db: Database) {
  const rows = await db.select().from(plans).orderBy(plans.seats)
  return rows.map((p) => ({
    id: p.id as Tenant['plan'],
    name: p.name,
    seats: p.seats,
    concurrent_sessions: p.concurrentSessions,
    storage_bytes: p.storageBytes,
    requests_per_minute: p.requestsPerMinute,
    requests_per_month: p.requestsPerMonth,
  }))
}

/**
 * The plan a tenant is on, with the limits in force: the plan's, or where an
 * operator set one per contract, the tenant's override.
 */
export async function tenantPlan(db: Database, tenantId: string) {
  const row = await db.select({ tenant: tenants, plan: plans }).from(tenants).innerJoin(plans, eq(plans.id, tenants.planId)).where(eq(tenants.id, tenantId)).get()
  if (!row) return null
  const { inForce } = limitsOf(row.tenant, row.plan)
  return {
    ...row.plan,
    seats: inForce.seats,
    concurrentSessions: inForce.concurrent_sessions,
    storageBytes: inForce.storage_bytes,
    requestsPerMinute: inForce.requests_per_minute,
    requestsPerMonth: inForce.requests_per_month,
  }
}

function slugTaken(slug: string) {
  return Problem.conflict(`The slug ${JSON.stringify(slug)} is already taken.`, 'slug-taken')
}

/**
 * Creates a tenant and its first admin in one transaction. The admin gets a
 * system-generated temporary password, returned here once and never stored
 * in clear; it must be changed at first sign-in. The operator sees that
 * password, so, as after an operator's reset, the first sign-in also needs a
 * code mailed to the admin's own address (SE-26): the operator cannot use it
 * to take over the new tenant.
 */
export async function createTenant(env: Env, db: Database, input: TenantCreate, actor: AuditActor, meta: RequestMeta) {
  if (await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, input.slug)).get()) {
    throw slugTaken(input.slug)
  }
  const now = isoNow()
  const tenant: TenantRow = {
    id: newId('tn'),
    slug: input.slug,
    name: input.name,
    planId: input.plan,
    status: 'active',
    contactEmail: normaliseEmail(input.contact_email),
    storageUsedBytes: 0,
    limitSeats: null,
    limitConcurrentSessions: null,
    limitStorageBytes: null,
    limitRequestsPerMinute: null,
    limitRequestsPerMonth: null,
    language: input.language ?? 'ja',
    createdAt: now,
    updatedAt: now,
  }
  const password = temporaryPassword()
  const account = await newAccount({
    tenantId: tenant.id,
    email: input.admin.email,
    name: input.admin.name,
    role: 'admin',
    permissions: ROLE_DEFAULT_PERMISSIONS.admin,
    password,
    createdBy: `${actor.type}:${actor.id}`,
  })
  const admin = { ...account, verifyEmailAtSignIn: true }
  // The tenant's data key is born with it, in the same transaction (DM-5).
  const dataKey = await newTenantKeyWrite(env, db, tenant.id)
  try {
    await audit(
      env,
      meta,
      {
        tenantId: tenant.id,
        actor,
        action: 'tenant.create',
        target: { type: 'tenant', id: tenant.id },
        outcome: 'success',
        details: { slug: tenant.slug, plan: tenant.planId, language: tenant.language, admin_user_id: admin.id, data_key_id: dataKey.keyId },
      },
      [db.insert(tenants).values(tenant).toSQL(), db.insert(users).values(admin).toSQL(), usageRows(db, tenant.id, now), dataKey.write],
    )
  } catch (error) {
    // Lost a race for the slug between the check and the commit.
    if (String(error).includes('UNIQUE constraint failed: tenants.slug')) throw slugTaken(input.slug)
    throw error
  }
  return { tenant: toTenant(tenant), admin: { ...toUser(admin), temporary_password: password } }
}

/**
 * The tenant's usage rows for its first month, one per session-store shard,
 * at zero: usage reports list a tenant that made no request yet, and the
 * stores' flushes then only update rows.
 */
export function usageRows(db: Database, tenantId: string, now: string) {
  const month = jstMonth(Date.parse(now))
  return db
    .insert(tenantUsage)
    .values(Array.from({ length: SESSION_SHARDS }, (_, shard) => ({ tenantId, month, shard, requests: 0, updatedAt: now })))
    .toSQL()
}

export async function listTenants(db: Database, limit: number, cursor: string | undefined) {
  const after = decodeCursor(cursor, ID_PATTERN)
  const rows = await db
    .select()
    .from(tenants)
    .where(after ? lt(tenants.id, after) : undefined)
    .orderBy(desc(tenants.id))
    .limit(limit + 1)
  return page(rows.map(toTenant), limit, (t) => t.id)
}

async function findTenant(db: Database, id: string): Promise<TenantRow> {
  const row = ID_PATTERN.test(id) ? await db.select().from(tenants).where(eq(tenants.id, id)).get() : undefined
  if (!row) throw Problem.notFound('tenant', id)
  return row
}

export async function getTenant(db: Database, id: string) {
  return toTenant(await findTenant(db, id))
}

/**
 * Changes a tenant's name, plan, status, contact or per-contract limits
 * (`limits`: only the named ones; null returns one to the plan's). The
 * audit event records each field's old and new value (`limits.<name>`).
 * Suspension ends every session at once; a new plan or limit reaches the
 * session stores at once, and seats, sessions and storage are checked
 * against it from the next request on.
 */
export async function updateTenant(
  env: Env,
  db: Database,
  id: string,
  patch: TenantPatch,
  actor: AuditActor,
  meta: RequestMeta,
) {
  const current = await findTenant(db, id)
  const next: TenantRow = {
    ...current,
    name: patch.name ?? current.name,
    planId: patch.plan ?? current.planId,
    status: patch.status ?? current.status,
    contactEmail: patch.contact_email ? normaliseEmail(patch.contact_email) : current.contactEmail,
    language: patch.language ?? current.language,
    ...overrideColumns(patch.limits ?? {}),
  }
  const before = overridesOf(current)
  const after = overridesOf(next)
  const changes = Object.fromEntries([
    ...(['name', 'planId', 'status', 'contactEmail', 'language'] as const)
      .filter((k) => next[k] !== current[k])
      .map((k) => [k === 'planId' ? 'plan' : k === 'contactEmail' ? 'contact_email' : k, { from: current[k], to: next[k] }]),
    ...LIMIT_KEYS.filter((k) => after[k] !== before[k]).map((k) => [`limits.${k}`, { from: before[k], to: after[k] }]),
  ])
  if (Object.keys(changes).length === 0) {
    // A repeated "suspend" still makes sure no session survived an earlier failure.
    if (current.status === 'suspended') await endTenantSessions(env, id)
    return toTenant(current)
  }
  next.updatedAt = isoNow()
  await auditChange(
    env,
    meta,
    {
      tenantId: id,
      actor,
      action: 'tenant.update',
      target: { type: 'tenant', id },
      outcome: 'success',
      details: { changes },
    },
    [
      db
        .update(tenants)
        .set({
          name: next.name,
          planId: next.planId,
          status: next.status,
          contactEmail: next.contactEmail,
          language: next.language,
          ...overrideColumns(after),
          updatedAt: next.updatedAt,
        })
        // The row must still be the one the change was computed from (no lost updates).
        .where(and(eq(tenants.id, id), eq(tenants.updatedAt, current.updatedAt)))
        .toSQL(),
    ],
    () => Problem.editConflict('The tenant was changed by someone else meanwhile. Reload it and try again.'),
  )
  if (next.status === 'suspended') await endTenantSessions(env, id)
  if (next.planId !== current.planId || LIMIT_KEYS.some((k) => after[k] !== before[k])) {
    // Read back as committed: the limits in force combine the row with its plan's.
    const limits = await tenantLimits(db, id)
    // The change is committed either way; a failed push heals with the sessions' next pull (within a minute).
    if (limits) {
      await pushTenantQuota(env, limits).catch((error) => {
        console.error(JSON.stringify({ level: 'error', msg: 'limit push failed', error: error instanceof Error ? error.name : 'unknown' }))
      })
    }
  }
  return toTenant(next)
}
