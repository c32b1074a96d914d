import { eq } from 'drizzle-orm'
import { database } from '../../db/client'
import { operators } from '../../db/schema'
import type { ActorState, AuthenticateResult } from '../../durable/session-store'
import type { RequestSource } from '../../lib/source-rules'
import { DEFAULT_POLICY } from '../../schemas/policy'
import type { Principal } from '../../schemas/principal'
import { parseStoredPolicy } from '../policy/policy'
import { sourceRulesOf } from '../policy/source-restrictions'
import { inForceSql } from '../tenancy/limits'
import { flagOfRow } from '../operations/tenant-flag-row'
import { authenticateToken, quotaShare, refreshSession } from './sessions'

/**
 * The session check of every authenticated request. Changes to an account,
 * its certificates or its tenant's policy are pushed to the session store
 * right after their D1 commit; a push can fail, and nothing retries it. So
 * each session also remembers when it last compared its account's state
 * with D1, and once that is older than a minute (SYNC_INTERVAL_MS) its next
 * request reads the state (one D1 batch) and hands it to the store, which
 * takes it over before it answers. A failed push therefore lives at most
 * about a minute. In the common case this is one Durable Object call and
 * no D1 query; a due session costs one D1 round trip and a second call, once
 * a minute per account.
 */
export async function checkSession(env: Env, token: string, source: RequestSource): Promise<AuthenticateResult> {
  const first = await authenticateToken(env, token, source)
  if (!first.ok && first.reason !== 'source' && first.reason !== 'maintenance') return first
  const stale = first.stale
  if (!stale) return first
  let state: ActorState
  try {
    state = await currentState(env, first.principal)
  } catch (error) {
    // D1 unreachable: the pushed state stands and the next request tries again.
    console.error(JSON.stringify({ level: 'error', msg: 'session state pull failed', error: error instanceof Error ? error.name : 'unknown' }))
    return first
  }
  return refreshSession(env, token, source, state, stale.generation)
}

/** The account's state as D1 holds it now: what its sessions must reflect. */
async function currentState(env: Env, principal: Principal): Promise<ActorState> {
  const db = database(env)
  if (principal.tenantId === null) {
    const row = await db
      .select({ status: operators.status, passwordChangedAt: operators.passwordChangedAt })
      .from(operators)
      .where(eq(operators.id, principal.actorId))
      .get()
    if (!row || row.status !== 'active') return { status: 'gone', scope: 'account' }
    return { status: 'active', role: 'operator', permissions: [], certFingerprints: null, rules: null, passwordVersion: row.passwordChangedAt }
  }
  const tenantId = principal.tenantId
  // One round trip. Plain SQL: the two `status` columns would collide in a drizzle batch's named rows.
  const [found, bound] = await env.DB.batch([
    env.DB.prepare(
      `SELECT t.status AS tenant_status, u.status AS user_status, u.role AS role, u.permissions AS permissions,
              u.password_changed_at AS password_version,
              p.policy AS policy, p.updated_at AS policy_version,
              m.enabled AS m_enabled, m.message AS m_message, m.starts_at AS m_starts_at, m.until AS m_until, m.window_id AS m_window_id, m.version AS m_version,
              t.updated_at AS tenant_version, ${inForceSql('requests_per_minute', 't')} AS per_minute,
              ${inForceSql('requests_per_month', 't')} AS per_month
         FROM tenants t
         LEFT JOIN users u ON u.tenant_id = t.id AND u.id = ?
         LEFT JOIN tenant_policies p ON p.tenant_id = t.id
         LEFT JOIN tenant_maintenance m ON m.tenant_id = t.id
        WHERE t.id = ?`,
    ).bind(principal.actorId, tenantId),
    env.DB.prepare('SELECT fingerprint FROM account_certificates WHERE tenant_id = ? AND user_id = ?').bind(tenantId, principal.actorId),
  ])
  type Row = {
    tenant_status: string
    user_status: string | null
    role: Principal['role'] | null
    permissions: string | null
    password_version: string | null
    policy: string | null
    policy_version: string | null
    tenant_version: string
    per_minute: number
    per_month: number
    m_enabled: number | null
    m_message: string | null
    m_starts_at: string | null
    m_until: string | null
    m_window_id: string | null
    m_version: number | null
  }
  const row = (found!.results as Row[])[0]
  if (!row || row.tenant_status !== 'active') return { status: 'gone', scope: 'store' }
  if (!row.role || row.user_status !== 'active') return { status: 'gone', scope: 'account' }
  const policy = row.policy_version ? parseStoredPolicy(JSON.parse(row.policy!)) : DEFAULT_POLICY
  return {
    status: 'active',
    role: row.role,
    permissions: JSON.parse(row.permissions ?? '[]'),
    certFingerprints: (bound!.results as { fingerprint: string }[]).map((b) => b.fingerprint),
    // A change or reset ends the other sessions by a push too; a lost one must not leave them for their whole lifetime.
    passwordVersion: row.password_version,
    rules: sourceRulesOf(policy, row.policy_version ?? ''),
    // Limits are pushed on every change too; this pull heals a push that failed.
    quota: quotaShare({ inForce: { requests_per_minute: row.per_minute, requests_per_month: row.per_month }, version: row.tenant_version }),
    // So is the maintenance flag: a lost push (on or off) lives at most about a minute.
    maintenance: flagOfRow(
      row.m_version === null ? null : { enabled: row.m_enabled === 1, message: row.m_message, startsAt: row.m_starts_at, until: row.m_until, windowId: row.m_window_id, version: row.m_version },
    ),
  }
}
