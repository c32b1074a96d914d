import { audit } from '../services/audit/audit'
import { checkReadiness } from '../services/platform/health'

/**
 * RE-3: the scheduled self-check. Probes every dependency like /health/ready;
 * a failure is logged and written to the platform audit chain as a security
 * event (alert delivery by mail and webhook comes with the incidents feature).
 */
export async function selfCheck(env: Env, scheduledTime: number) {
  const readiness = await checkReadiness(env)
  console.log(JSON.stringify({ level: readiness.status === 'ok' ? 'info' : 'error', msg: 'self-check', ...readiness }))
  if (readiness.status !== 'ok') {
    await audit(
      env,
      { requestId: `cron:${scheduledTime}`, ip: null, userAgent: null },
      {
        tenantId: null,
        actor: { type: 'system', id: 'self-check' },
        action: 'security.self_check_failed',
        outcome: 'failure',
        details: { failing: readiness.failing },
      },
    )
  }
  return readiness
}
