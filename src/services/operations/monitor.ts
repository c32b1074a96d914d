import { eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { platformSettings } from '../../db/schema'
import type { RequestMeta } from '../../lib/request-meta'
import type { CheckResult, Readiness } from '../platform/health'
import { openIncident, resolveIfOpen } from './incidents'
import { notifyOperators } from './operator-alerts'

/**
 * RE-3..6: the self-check turns failures into incidents. A dependency that
 * fails two runs in a row opens an incident for every tenant (dated from
 * its first failed run); the first run that finds it answering again
 * resolves it.
 *
 * The count of consecutive failures must outlive the failure it counts, so
 * it is kept twice: in D1 (platform_settings) and in R2 (the BACKUPS bucket),
 * and read from whichever answers, the newer if both do. D1 failing is then
 * counted in R2, R2 failing in D1. An incident cannot be written while D1
 * (or the audit chain's Durable Object) is down; the state then keeps
 * "incident due" and the first run that can write records it, opened at the
 * first failure and, if the dependency is back by then, resolved at once.
 */

export const CHECKS = ['d1', 'r2', 'durable_objects'] as const
export type CheckName = (typeof CHECKS)[number]

/** Consecutive failed runs before an incident opens. */
export const FAILURES_TO_OPEN = 2

export type CheckState = {
  failures: number
  /** The first failed run of the current streak. */
  since: string | null
  /** The incident recorded for this streak, once it could be written. */
  incident_id: string | null
  /** Whether the operators were told about this streak. */
  alerted: boolean
}

export type MonitorState = { checks: Record<CheckName, CheckState>; updated_at: string }

const CLEAR: CheckState = { failures: 0, since: null, incident_id: null, alerted: false }

export function emptyState(): MonitorState {
  return { checks: { d1: { ...CLEAR }, r2: { ...CLEAR }, durable_objects: { ...CLEAR } }, updated_at: new Date(0).toISOString() }
}

/** What a run must do for one check, given its state and this run's result. */
export type Step =
  | { action: 'none'; next: CheckState }
  | { action: 'open'; next: CheckState }
  | { action: 'resolve'; next: CheckState }
  /** Back before its incident could be written (D1 was the one down): record it opened and resolved. */
  | { action: 'record'; next: CheckState }

/** The pure state machine: what one run's result does to one check. `next` is the state once the action succeeded. */
export function step(state: CheckState, result: CheckResult, now: string): Step {
  if (result === 'fail') {
    const failures = state.failures + 1
    const next = { ...state, failures, since: state.since ?? now }
    return { action: failures >= FAILURES_TO_OPEN && !state.incident_id ? 'open' : 'none', next }
  }
  if (state.incident_id) return { action: 'resolve', next: { ...CLEAR } }
  if (state.failures >= FAILURES_TO_OPEN) return { action: 'record', next: { ...CLEAR } }
  return { action: 'none', next: { ...CLEAR } }
}

const KEY = 'self_check_state'
const R2_KEY = 'platform/self-check-state.json'

function parse(value: unknown): MonitorState | null {
  const v = value as MonitorState | null
  return v && typeof v.updated_at === 'string' && v.checks && CHECKS.every((c) => typeof v.checks[c]?.failures === 'number') ? v : null
}

async function readState(env: Env, db: Database): Promise<MonitorState> {
  const [fromD1, fromR2] = await Promise.all([
    db
      .select()
      .from(platformSettings)
      .where(eq(platformSettings.key, KEY))
      .get()
      .then((row) => parse(row?.value ?? null))
      .catch(() => null),
    env.BACKUPS.get(R2_KEY)
      .then((object) => (object ? object.json() : null))
      .then(parse)
      .catch(() => null),
  ])
  const states = [fromD1, fromR2].filter((s): s is MonitorState => s !== null)
  return states.sort((a, b) => b.updated_at.localeCompare(a.updated_at))[0] ?? emptyState()
}

/** Writes to both stores; each may fail on its own (that is the point of having two). */
async function writeState(env: Env, db: Database, state: MonitorState) {
  const value = JSON.stringify(state)
  await Promise.all([
    db
      .insert(platformSettings)
      .values({ key: KEY, value: state, updatedAt: state.updated_at, updatedBy: 'system:self-check' })
      .onConflictDoUpdate({ target: platformSettings.key, set: { value: state, updatedAt: state.updated_at } })
      .run()
      .catch(() => null),
    env.BACKUPS.put(R2_KEY, value, { httpMetadata: { contentType: 'application/json' } }).catch(() => null),
  ])
}

const TITLES: Record<CheckName, { title: string; severity: 'major' | 'critical' }> = {
  d1: { title: 'Database (D1) not answering', severity: 'critical' },
  r2: { title: 'File storage (R2) not answering', severity: 'major' },
  durable_objects: { title: 'Session and audit objects (Durable Objects) not answering', severity: 'critical' },
}

const SELF_CHECK = { type: 'system' as const, id: 'self-check' }

/**
 * Applies one self-check run to the incident record. `now` is the run's
 * slot time. Returns what happened per check, for the job's log line.
 */
export async function trackReadiness(env: Env, db: Database, readiness: Readiness, now: string, meta: RequestMeta) {
  const before = await readState(env, db)
  // The same slot run twice counts once.
  if (before.updated_at === now) return {}
  const after: MonitorState = { checks: { ...before.checks }, updated_at: now }
  const actions: Partial<Record<CheckName, string>> = {}
  for (const check of CHECKS) {
    const state = before.checks[check] ?? { ...CLEAR }
    const { action, next } = step(state, readiness.checks[check], now)
    const { title, severity } = TITLES[check]
    let applied = next
    try {
      if (action === 'open' || action === 'record') {
        const description =
          action === 'open'
            ? `The platform's self-check found ${check} failing ${next.failures} runs in a row since ${next.since}. Operators are investigating.`
            : `The platform's self-check found ${check} failing from ${state.since} (${state.failures} runs); it answers again.`
        const incident = await openIncident(env, db, { title, description, severity }, SELF_CHECK, meta, {
          source: 'self-check',
          failedCheck: check,
          openedAt: (action === 'open' ? next.since : state.since) ?? now,
        })
        if (action === 'record') await resolveIfOpen(env, db, incident.id, `The self-check finds ${check} answering again.`, SELF_CHECK, meta)
        else applied = { ...next, incident_id: incident.id }
      } else if (action === 'resolve') {
        await resolveIfOpen(env, db, state.incident_id!, `The self-check finds ${check} answering again.`, SELF_CHECK, meta)
      }
    } catch (error) {
      // Not written (D1 or the audit chain is down): keep the streak as it is, so the next run tries again.
      console.error(JSON.stringify({ level: 'error', msg: 'self-check incident not recorded', check, action, error: String(error) }))
      applied = action === 'open' ? next : state
    }
    // The operators hear of a streak once when it starts counting as an incident, and once when it ends.
    if (applied.failures >= FAILURES_TO_OPEN && !applied.alerted) {
      await notifyOperators(env, meta, { event: 'self_check.failing', severity, summary: `${check} failing ${applied.failures} runs in a row`, failed_check: check, incident_id: applied.incident_id })
      applied = { ...applied, alerted: true }
    } else if (state.alerted && applied.failures === 0) {
      await notifyOperators(env, meta, { event: 'self_check.recovered', severity, summary: `${check} answers again`, failed_check: check, incident_id: state.incident_id })
    }
    after.checks[check] = applied
    if (action !== 'none') actions[check] = action
  }
  const changed = CHECKS.some((c) => JSON.stringify(after.checks[c]) !== JSON.stringify(before.checks[c]))
  if (changed) await writeState(env, db, after)
  return actions
}
