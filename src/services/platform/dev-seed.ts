import { eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { operators, tenants, users } from '../../db/schema'
import { newId } from '../../lib/ids'
import { isoNow } from '../../lib/time'
import { ROLE_DEFAULT_PERMISSIONS, type Role } from '../../schemas/permissions'
import { audit } from '../audit/audit'
import { hashPassword } from '../passwords/passwords'
import { newAccount } from '../accounts/users'
import { newTenantKeyWrite } from '../keys/tenant-keys'
import { usageRows } from '../tenancy/tenants'

/** The development accounts of API.md. Public by design; only ever created when ENVIRONMENT=development. */
export const DEV_SEED = {
  operator: { email: 'ops@example.com', name: 'Demo Operator', password: 'mamori-ops-demo-2026' },
  tenant: {
    slug: 'demo',
    name: 'Demo Tenant',
    plan: 'enterprise',
    contactEmail: 'admin@demo.example',
    /**
     * Per-contract request limits well above what `npm run bench` sends from
     * one session (a few hundred requests a second for seconds at a time):
     * the platform ceiling per minute (one session may use half of it), and
     * a month that many benchmark runs do not use up.
     */
    limits: { requestsPerMinute: 60_000, requestsPerMonth: 1_000_000_000 },
  },
  admin: { email: 'admin@demo.example', name: 'Demo Admin', password: 'mamori-admin-demo-2026' },
  member: { email: 'user@demo.example', name: 'Demo User', password: 'mamori-user-demo-2026' },
} as const

const SEED_META = { requestId: 'dev-seed', ip: null, userAgent: null }
const SYSTEM = { type: 'system' as const, id: 'dev-seed' }

/**
 * Creates the development operator, tenant `demo`, its admin and member,
 * with their passwords already changed. Idempotent: whatever exists is kept.
 */
export async function seedDevelopment(env: Env, db: Database): Promise<void> {
  if (env.ENVIRONMENT !== 'development') return
  const now = isoNow()
  if (!(await db.select({ id: operators.id }).from(operators).where(eq(operators.email, DEV_SEED.operator.email)).get())) {
    const id = newId('op')
    await audit(
      env,
      SEED_META,
      { tenantId: null, actor: SYSTEM, action: 'operator.create', target: { type: 'operator', id }, outcome: 'success' },
      [
        db
          .insert(operators)
          .values({
            id,
            email: DEV_SEED.operator.email,
            name: DEV_SEED.operator.name,
            passwordHash: await hashPassword(DEV_SEED.operator.password),
            passwordChangedAt: now,
            createdAt: now,
          })
          .onConflictDoNothing()
          .toSQL(),
      ],
    )
  }
  if (await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, DEV_SEED.tenant.slug)).get()) return
  const tenantId = newId('tn')
  // Passwords already changed: the demo accounts sign in without a forced change.
  const account = (role: Role, who: { email: string; name: string; password: string }) =>
    newAccount({ tenantId, ...who, role, permissions: ROLE_DEFAULT_PERMISSIONS[role], createdBy: 'system:dev-seed', mustChangePassword: false })
  await audit(
    env,
    SEED_META,
    { tenantId, actor: SYSTEM, action: 'tenant.create', target: { type: 'tenant', id: tenantId }, outcome: 'success' },
    [
      db
        .insert(tenants)
        .values({
          id: tenantId,
          slug: DEV_SEED.tenant.slug,
          name: DEV_SEED.tenant.name,
          planId: DEV_SEED.tenant.plan,
          status: 'active',
          contactEmail: DEV_SEED.tenant.contactEmail,
          limitRequestsPerMinute: DEV_SEED.tenant.limits.requestsPerMinute,
          limitRequestsPerMonth: DEV_SEED.tenant.limits.requestsPerMonth,
          createdAt: now,
          updatedAt: now,
        })
        .toSQL(),
      db.insert(users).values([await account('admin', DEV_SEED.admin), await account('member', DEV_SEED.member)]).toSQL(),
      usageRows(db, tenantId, now),
      // A seed from before data keys gets its key on first use instead (tenantDataKey): no migration needed.
      (await newTenantKeyWrite(env, db, tenantId)).write,
    ],
  )
}
