import { sessionStoreFor } from '../../durable/session-store'

export type CheckResult = 'ok' | 'fail'
export type Readiness = {
  status: 'ok' | 'unavailable'
  checks: { d1: CheckResult; r2: CheckResult; durable_objects: CheckResult }
  failing: string[]
}

const CHECK_TIMEOUT_MS = 2_000

async function probe(work: () => Promise<unknown>): Promise<CheckResult> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS)
  })
  try {
    await Promise.race([work(), timeout])
    return 'ok'
  } catch {
    return 'fail'
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Really touches each dependency (RE-3): a D1 query, a read from both R2
 * buckets, and a round trip to a Durable Object with its storage. Each probe
 * has its own timeout so one hung binding cannot hang the check.
 */
export async function checkReadiness(env: Env): Promise<Readiness> {
  const [d1, r2, durable_objects] = await Promise.all([
    probe(() => env.DB.prepare('SELECT count(*) FROM plans').first()),
    probe(() => Promise.all([env.FILES.head('health/probe'), env.BACKUPS.head('health/probe')])),
    probe(() => sessionStoreFor(env, { kind: 'probe' }).ping()),
  ])
  const checks = { d1, r2, durable_objects }
  const failing = Object.entries(checks)
    .filter(([, v]) => v === 'fail')
    .map(([k]) => k)
  return { status: failing.length ? 'unavailable' : 'ok', checks, failing }
}
