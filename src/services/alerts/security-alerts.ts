import type { Database } from '../../db/client'
import type { SqlWrite } from '../../durable/audit-chain'
import type { Defer } from '../../lib/defer'
import type { RequestMeta } from '../../lib/request-meta'
import type { AuditAction } from '../../schemas/audit'
import { audit } from '../audit/audit'
import { afterResponse, alertAudience, alertWrites, deliverAlertSoon, type AlertAudience } from './alerts'
import { firedWrite, windowAt, type AlertWindow } from './counters'
import { accountLocale } from '../mail/recipients'
import { messages, pickLocale, type Locale, type SecurityAlertKind, type SecurityFacts } from '../../i18n'

/**
 * Security alerts (SE-28): an event of category `security` on the tenant's
 * audit chain (the platform's for operators), mailed to the tenant's admins
 * and sent to the operators' webhook, all in one transaction.
 */

export type { SecurityAlertKind }

/** The event that records each kind; kinds without an action of their own are `security.alert` with `details.kind`. */
const ACTION_OF: Record<SecurityAlertKind, AuditAction> = {
  new_network_sign_in: 'security.new_network_sign_in',
  source_refusal_burst: 'security.source_refusal_burst',
  download_burst: 'security.download_burst',
  permission_failures: 'security.permission_failures',
  brute_force: 'security.alert',
  account_locked: 'security.alert',
}

export type SecurityAlert = {
  /** The tenant it concerns; null for the platform (operators): then only the webhook hears of it. */
  tenantId: string | null
  kind: SecurityAlertKind
  /** Whom or what it is about: the event's target. `email` is used for mail only, never sent to the webhook. */
  subject: { type: string; id: string | null; email?: string }
  /** How many occurrences it reports, when it reports a burst. */
  count?: number
  threshold?: number
  window?: AlertWindow
  /** Facts for the event, the mail and the webhook: ids, counts, networks; never a secret, never an e-mail address. */
  details?: Record<string, string | number | boolean | null>
  /** Also mail the account (subject.email) itself, as consumer services do for a new sign-in. */
  notifyUser?: boolean
  /**
   * Fire at most once per `key` in each `windowMinutes` window: a second
   * call in the same window commits nothing and answers `fired: false`.
   */
  once?: { key: string; windowMinutes: number }
}

export type SecurityAlertOptions = {
  /** Where delivery runs after the response (default: the runtime's waitUntil). */
  defer?: Defer
  /**
   * Writes that must each change a row, or nothing at all is committed (the
   * alert, its mails and its event) and the answer is `fired: false`: the
   * detector's own "first time" condition, such as recording a new network.
   */
  guards?: SqlWrite[]
  /** Further writes of the detector's to commit with the alert (forgetting the oldest known network). */
  writes?: SqlWrite[]
  now?: number
}

/** The language of the account an alert is about: an admin's is known already; anyone else's is read. */
async function subjectLocale(db: Database, audience: AlertAudience, alert: SecurityAlert): Promise<Locale> {
  const admin = audience.admins.find((a) => a.email === alert.subject.email)
  if (admin) return admin.locale
  if ((alert.subject.type === 'user' || alert.subject.type === 'operator') && alert.subject.id) {
    return accountLocale(db, { type: alert.subject.type, id: alert.subject.id, tenantId: alert.tenantId })
  }
  return pickLocale(null, audience.tenant?.language)
}

/**
 * Raises one security alert: the `security.*` audit event, the mails to the
 * tenant's active admins (and to the account, with `notifyUser`) and the
 * operators' webhook delivery, committed together, then delivered at once
 * (retried by the five-minute cron). Answers whether it fired: with `once`
 * or `guards`, a repeat commits nothing.
 *
 * @example await securityAlert(env, db, meta, { tenantId, kind: 'account_locked', subject: { type: 'user', id, email }, count: 100, notifyUser: true, once: { key: `locked:${id}`, windowMinutes: 60 } })
 */
export async function securityAlert(
  env: Env,
  db: Database,
  meta: RequestMeta,
  alert: SecurityAlert,
  { defer = afterResponse, guards = [], writes = [], now = Date.now() }: SecurityAlertOptions = {},
): Promise<{ fired: boolean; alertId: string | null }> {
  const audience = await alertAudience(db, alert.tenantId)
  const user = alert.notifyUser && alert.subject.email ? { email: alert.subject.email, mail: userMail(audience, alert, await subjectLocale(db, audience, alert), now) } : null
  const tenantId = audience.tenant?.id ?? null
  const action = ACTION_OF[alert.kind]
  const queued = alertWrites(
    env,
    db,
    audience,
    {
      category: 'security',
      kind: alert.kind,
      action,
      mail: adminMail(audience, alert, meta, now),
      ...(user ? { user } : {}),
      facts: {
        subject: { type: alert.subject.type, id: alert.subject.id },
        ...(alert.count !== undefined ? { count: alert.count } : {}),
        ...(alert.threshold !== undefined ? { threshold: alert.threshold } : {}),
        ...(alert.window ? { window: { start: alert.window.start, end: alert.window.end } } : {}),
        details: alert.details ?? {},
        request_id: meta.requestId,
      },
    },
    now,
  )
  const once = alert.once ? [firedWrite(db, { key: alert.once.key, tenantId, window: windowAt(now, alert.once.windowMinutes) })] : []
  const conditions = [...once, ...guards]
  const result = await audit(
    env,
    meta,
    {
      tenantId,
      actor: { type: 'system', id: 'intrusion-detection' },
      action,
      target: { type: alert.subject.type, id: alert.subject.id },
      outcome: 'success',
      details: {
        kind: alert.kind,
        alert_id: queued.id,
        ...(alert.count !== undefined ? { count: alert.count } : {}),
        ...(alert.threshold !== undefined ? { threshold: alert.threshold } : {}),
        ...(alert.window ? { window_start: alert.window.start, window_end: alert.window.end } : {}),
        ...alert.details,
        notified: queued.notified,
      },
    },
    [...conditions, ...writes, ...queued.writes],
    conditions.length > 0 ? { guard: conditions.map((_, i) => i) } : {},
  )
  if (!result.ok) return { fired: false, alertId: null }
  deliverAlertSoon(env, db, queued, defer)
  return { fired: true, alertId: queued.id }
}

/** What the mails list: when, whom it is about, how many, and the detector's details. */
function factsOf(alert: SecurityAlert, now: number, { withAccount }: { withAccount: boolean }): SecurityFacts {
  const s = alert.subject
  return {
    at: new Date(now).toISOString(),
    ...(withAccount && s.type === 'user' ? { account: { email: s.email, id: s.id } } : {}),
    ...(withAccount && s.type !== 'user' && s.id ? { target: { type: s.type, id: s.id } } : {}),
    ...(alert.count !== undefined ? { count: { value: alert.count, threshold: alert.threshold, window: alert.window } } : {}),
    details: alert.details ?? {},
  }
}

function adminMail(audience: AlertAudience, alert: SecurityAlert, meta: RequestMeta, now: number) {
  const tenant = audience.tenant ? { name: audience.tenant.name, slug: audience.tenant.slug } : null
  const facts = factsOf(alert, now, { withAccount: true })
  return (locale: Locale) => messages(locale).mail.securityAlertAdmin({ kind: alert.kind, tenant, facts, requestId: meta.requestId, action: ACTION_OF[alert.kind] })
}

/** The mail to the account itself, in its language: what happened to it, and what to do if it was not them. */
function userMail(audience: AlertAudience, alert: SecurityAlert, locale: Locale, now: number) {
  return messages(locale).mail.securityAlertUser({
    kind: alert.kind,
    email: alert.subject.email!,
    tenantName: audience.tenant?.name ?? null,
    facts: factsOf(alert, now, { withAccount: false }),
  })
}
