import { database } from '../db/client'
import { audit } from '../services/audit/audit'
import { trackReadiness } from '../services/operations/monitor'
import { checkReadiness } from '../services/platform/health'

/**
 * RE-3: the scheduled self-check. Probes every dependency like /health/ready;
 * a failure is logged and written to the platform audit chain as a security
 * event, and a dependency failing two runs in a row opens an incident that
 * the first good run resolves (services/operations/monitor).
 */
export async function selfCheck(env: Env, scheduledTime: number) {
  const readiness = await checkReadiness(env)
  console.log(JSON.stringify({ level: readiness.status === 'ok' ? 'info' : 'error', msg: 'self-check', ...readiness }))
  const meta = { requestId: `cron:${scheduledTime}`, ip: null, userAgent: null }
  if (readiness.status !== 'ok') {
    // With D1 or the audit chain down this cannot be written; the failure must still be counted below.
    await audit(env, meta, {
      tenantId: null,
      actor: { type: 'system', id: 'self-check' },
      action: 'security.self_check_failed',
      outcome: 'failure',
      details: { failing: readiness.failing },
    }).catch((error) => console.error(JSON.stringify({ level: 'error', msg: 'self-check failure not audited', error: String(error) })))
  }
  const incidents = await trackReadiness(env, database(env), readiness, new Date(scheduledTime).toISOString(), meta)
  return { ...readiness, incidents }
}
