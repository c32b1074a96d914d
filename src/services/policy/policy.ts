import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { accountCertificates, tenantPolicies } from '../../db/schema'
import { Problem } from '../../lib/problem'
import type { RequestSource } from '../../lib/source-rules'
import { checkSource } from '../../lib/source-rules'
import { isoNow } from '../../lib/time'
import { DEFAULT_POLICY, PolicySchema, type Policy, type PolicyUpdate } from '../../schemas/policy'
import type { Principal } from '../../schemas/principal'
import { auditChange, type RequestMeta } from '../audit/audit'
import { pushSourceRules } from '../identity/sessions'
import { sourceRulesOf } from './source-restrictions'

/** The tenant's policy in force (its own row, or the platform defaults) and when it was saved. */
export async function loadPolicy(db: Database, tenantId: string): Promise<{ policy: Policy; version: string }> {
  const row = await db
    .select({ policy: tenantPolicies.policy, updatedAt: tenantPolicies.updatedAt })
    .from(tenantPolicies)
    .where(eq(tenantPolicies.tenantId, tenantId))
    .get()
  if (!row) return { policy: DEFAULT_POLICY, version: '' }
  // Stored policies were validated on the way in; parsing again fills fields added since.
  return { policy: PolicySchema.parse({ ...DEFAULT_POLICY, ...(row.policy as object) }), version: row.updatedAt }
}

export async function getPolicy(db: Database, tenantId: string): Promise<Policy> {
  return (await loadPolicy(db, tenantId)).policy
}

export async function boundFingerprints(db: Database, tenantId: string, userId: string): Promise<string[]> {
  const rows = await db
    .select({ fingerprint: accountCertificates.fingerprint })
    .from(accountCertificates)
    .where(and(eq(accountCertificates.tenantId, tenantId), eq(accountCertificates.userId, userId)))
  return rows.map((r) => r.fingerprint)
}

/** The current policy with the update's fields laid over it (role objects merge field by field). */
function merge(current: Policy, u: PolicyUpdate): Policy {
  return {
    password_min_length: u.password_min_length ?? current.password_min_length,
    password_max_age_days: { ...current.password_max_age_days, ...u.password_max_age_days },
    password_history: u.password_history ?? current.password_history,
    mfa_required: { ...current.mfa_required, ...u.mfa_required },
    ip_allowlist: { ...current.ip_allowlist, ...u.ip_allowlist },
    client_cert_required: { ...current.client_cert_required, ...u.client_cert_required },
    session_idle_minutes: u.session_idle_minutes ?? current.session_idle_minutes,
    session_absolute_hours: u.session_absolute_hours ?? current.session_absolute_hours,
  }
}

/**
 * Changes the tenant policy (EX-1). Values are already bounded by the
 * schema (never looser than the platform). Refused with 422 if the new
 * source rules would reject the admin's own current request: an admin can
 * never lock the tenant's admins out by accident. The new source rules reach
 * the session store at once, so they apply from the next request.
 */
export async function updatePolicy(
  env: Env,
  db: Database,
  caller: Principal,
  update: PolicyUpdate,
  source: RequestSource,
  meta: RequestMeta,
): Promise<Policy> {
  const tenantId = caller.tenantId!
  const current = await getPolicy(db, tenantId)
  const next = merge(current, update)
  const verdict = checkSource(sourceRulesOf(next), caller.role, source, await boundFingerprints(db, tenantId, caller.actorId))
  if (!verdict.ok) {
    const field = verdict.rule === 'ip' ? `body.ip_allowlist.${caller.role}` : `body.client_cert_required.${caller.role}`
    throw Problem.validation(
      [{ path: field, message: `This would lock you out: ${verdict.detail} Include your own access first.` }],
      'This policy would reject your own current request, so it was not saved.',
    )
  }
  const changed = Object.fromEntries(
    (Object.keys(next) as (keyof Policy)[])
      .filter((k) => JSON.stringify(next[k]) !== JSON.stringify(current[k]))
      .map((k) => [k, { from: current[k], to: next[k] }]),
  )
  if (Object.keys(changed).length === 0) return current
  const now = isoNow()
  await auditChange(
    env,
    meta,
    {
      tenantId,
      actor: { type: 'user', id: caller.actorId },
      action: 'policy.update',
      target: { type: 'tenant', id: tenantId },
      outcome: 'success',
      details: { changes: changed },
    },
    [
      db
        .insert(tenantPolicies)
        .values({ tenantId, policy: next, updatedAt: now, updatedBy: caller.actorId })
        .onConflictDoUpdate({ target: tenantPolicies.tenantId, set: { policy: next, updatedAt: now, updatedBy: caller.actorId } })
        .toSQL(),
    ],
    () => Problem.notFound('tenant', tenantId),
  )
  await pushSourceRules(env, tenantId, sourceRulesOf(next, now))
  return next
}
