import { database } from '../../db/client'
import type { RequestMeta } from '../../lib/request-meta'
import { alertWrites, deliverAlertSoon } from '../alerts/alerts'
import { audit } from '../audit/audit'

/** What the operators' first responder must hear about (RE-3): an incident's life, or a dependency failing. */
export type OperatorAlert = {
  event: 'incident.opened' | 'incident.updated' | 'incident.resolved' | 'self_check.failing' | 'self_check.recovered'
  severity: 'minor' | 'major' | 'critical'
  summary: string
  incident_id?: string | null
  failed_check?: string
}

/**
 * The single place operations tells the operators something (RE-3): one line
 * in the Worker's log (which needs no D1 and so survives a D1 outage), and
 * through the alert channel the operators' webhook, committed with
 * `incident.operators_notified` on the platform chain and delivered at once
 * (the five-minute cron retries). Tenants hear of incidents through their own
 * notices, so this mails no one. Never throws: an alert that cannot be
 * recorded must not undo the incident it is about.
 */
export async function notifyOperators(env: Env, meta: RequestMeta, alert: OperatorAlert) {
  console.log(JSON.stringify({ level: alert.severity === 'minor' ? 'warn' : 'error', msg: 'operator alert', ...alert }))
  try {
    const db = database(env)
    const queued = alertWrites(env, db, { tenant: null, admins: [] }, {
      category: 'operations',
      kind: alert.event,
      action: 'incident.operators_notified',
      mail: () => ({ subject: '', text: '' }),
      facts: { severity: alert.severity, summary: alert.summary, incident_id: alert.incident_id ?? null, failed_check: alert.failed_check ?? null },
    })
    await audit(env, meta, {
      tenantId: null,
      actor: { type: 'system', id: 'operations' },
      action: 'incident.operators_notified',
      target: alert.event.startsWith('incident.') ? { type: 'incident', id: alert.incident_id ?? null } : { type: 'check', id: alert.failed_check ?? null },
      outcome: 'success',
      details: { ...alert, alert_id: queued.id, webhook: queued.webhook },
    }, queued.writes)
    deliverAlertSoon(env, db, queued)
  } catch (error) {
    console.error(JSON.stringify({ level: 'error', msg: 'operator alert not recorded', event: alert.event, error: String(error) }))
  }
}
