import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { accountCertificates, tenantPolicies, tenants } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { Problem } from '../../lib/problem'
import type { RequestSource } from '../../lib/source-rules'
import { checkSource } from '../../lib/source-rules'
import { DEFAULT_POLICY, PolicySchema, type Policy, type PolicyUpdate } from '../../schemas/policy'
import type { Principal } from '../../schemas/principal'
import { audit, type RequestMeta } from '../audit/audit'
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
  return { policy: parseStoredPolicy(row.policy), version: row.updatedAt }
}

/** A stored policy: validated on the way in; parsing again fills fields added since. */
export function parseStoredPolicy(stored: unknown): Policy {
  return PolicySchema.parse({ ...DEFAULT_POLICY, ...(stored as object) })
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
    sessions_per_account: u.sessions_per_account ?? current.sessions_per_account,
  }
}

/** A save finding the stored policy changed since it was read is retried this often on the new one, then 409. */
const SAVE_ATTEMPTS = 3

/**
 * The save time of a new version. Strictly after the one it replaces, even
 * within one millisecond, because it is what the next save's guard compares.
 */
function nextVersion(previous: string): string {
  const after = previous ? Date.parse(previous) + 1 : 0
  return new Date(Math.max(Date.now(), after)).toISOString()
}

/**
 * The write of one policy version, only over the version it was computed
 * from: an update of that exact row, or the first row when none existed.
 */
function saveOver(tenantId: string, version: string, policy: Policy, at: string, by: string): SqlWrite {
  const json = JSON.stringify(policy)
  if (version === '') {
    return {
      sql: `INSERT INTO tenant_policies (tenant_id, policy, updated_at, updated_by)
            SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tenants WHERE id = ?)
              AND NOT EXISTS (SELECT 1 FROM tenant_policies WHERE tenant_id = ?)`,
      params: [tenantId, json, at, by, tenantId, tenantId],
    }
  }
  return {
    sql: 'UPDATE tenant_policies SET policy = ?, updated_at = ?, updated_by = ? WHERE tenant_id = ? AND updated_at = ?',
    params: [json, at, by, tenantId, version],
  }
}

/**
 * Changes the tenant policy (EX-1). Values are already bounded by the
 * schema (never looser than the platform). Refused with 422 if the new
 * source rules would reject the admin's own current request: an admin can
 * never lock the tenant's admins out by accident. The new source rules reach
 * the session store at once, so they apply from the next request.
 *
 * The save only lands over the version it was computed from, so two
 * concurrent updates cannot silently undo each other: the one that finds
 * the policy changed meanwhile is merged again over the new version (its
 * lock-out check and audit diff too), and after a few such losses answers
 * 409 `edit-conflict`. The audit diff is therefore always from the row the
 * commit replaced. An update that changes nothing still sends the rules to
 * the session store, so repeating one heals a push that failed.
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
  const fingerprints = await boundFingerprints(db, tenantId, caller.actorId)
  for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
    const { policy: current, version } = await loadPolicy(db, tenantId)
    const next = merge(current, update)
    const verdict = checkSource(sourceRulesOf(next), caller.role, source, fingerprints)
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
    if (Object.keys(changed).length === 0) {
      await pushSourceRules(env, tenantId, sourceRulesOf(current, version))
      return current
    }
    const at = nextVersion(version)
    const saved = await audit(
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
      [saveOver(tenantId, version, next, at, caller.actorId)],
      { guard: 0 },
    )
    if (saved.ok) {
      await pushSourceRules(env, tenantId, sourceRulesOf(next, at))
      return next
    }
    if (!(await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId)).get())) throw Problem.notFound('tenant', tenantId)
  }
  throw Problem.editConflict('The policy was changed by someone else meanwhile, several times in a row. Reload it and try again.')
}
