import type { Database } from '../../db/client'
import type { SqlWrite } from '../../durable/audit-chain'
import type { Defer } from '../../lib/defer'
import type { RequestMeta } from '../../lib/request-meta'
import type { AuditAction } from '../../schemas/audit'
import { audit } from '../audit/audit'
import { afterResponse, alertAudience, alertWrites, deliverAlertSoon, type AlertAudience } from './alerts'
import { firedWrite, windowAt, type AlertWindow } from './counters'

/**
 * Security alerts (SE-28): an event of category `security` on the tenant's
 * audit chain (the platform's for operators), mailed to the tenant's admins
 * and sent to the operators' webhook, all in one transaction.
 */

export type SecurityAlertKind =
  | 'new_network_sign_in'
  | 'source_refusal_burst'
  | 'download_burst'
  | 'permission_failures'
  | 'brute_force'
  | 'account_locked'

/** The event that records each kind; kinds without an action of their own are `security.alert` with `details.kind`. */
const ACTION_OF: Record<SecurityAlertKind, AuditAction> = {
  new_network_sign_in: 'security.new_network_sign_in',
  source_refusal_burst: 'security.source_refusal_burst',
  download_burst: 'security.download_burst',
  permission_failures: 'security.permission_failures',
  brute_force: 'security.alert',
  account_locked: 'security.alert',
}

/** What the admins' mail says happened, and what to do about it. */
const WORDING: Record<SecurityAlertKind, { title: string; happened: string; advice: string }> = {
  new_network_sign_in: {
    title: 'sign-in from a new network',
    happened: 'An account signed in from a network it has never signed in from before.',
    advice: 'If the account holder did not expect this, revoke its sessions and reset its password.',
  },
  source_refusal_burst: {
    title: 'many requests refused by source restrictions',
    happened: 'Many requests were refused because they came from addresses or devices the tenant policy does not allow.',
    advice: 'Check whether the allowlist is out of date, or whether someone is trying credentials or stolen sessions from outside it.',
  },
  download_burst: {
    title: 'burst of downloads and exports',
    happened: 'One account downloaded or exported data more often than usual in a short time.',
    advice: 'If this was not expected, disable the account or remove its download and export permissions.',
  },
  permission_failures: {
    title: 'many permission failures from one session',
    happened: 'One session made many requests its account is not allowed to make.',
    advice: 'This may be a stolen session probing for access: if it was not expected, revoke the session.',
  },
  brute_force: {
    title: 'repeated failed sign-ins',
    happened: 'Many sign-ins to one account failed.',
    advice: 'Someone may be guessing the password. Ask the account holder to use a long, unique password and a second factor.',
  },
  account_locked: {
    title: 'account locked',
    happened: 'An account was locked after too many failed sign-ins.',
    advice: 'Once you know the account holder asked for it, unlock the account (POST /api/v1/users/{id}/unlock) or have them reset the password.',
  },
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
      ...(alert.notifyUser && alert.subject.email ? { user: { email: alert.subject.email, ...userMail(audience, alert, now) } } : {}),
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

function tenantLine(audience: AlertAudience) {
  return audience.tenant ? `tenant "${audience.tenant.name}" (${audience.tenant.slug})` : 'the platform'
}

function factLines(alert: SecurityAlert, now: number) {
  const lines = [`When: ${new Date(now).toISOString()}`]
  if (alert.subject.type === 'user') lines.push(`Account: ${alert.subject.email ? `${alert.subject.email} (${alert.subject.id})` : alert.subject.id}`)
  else if (alert.subject.id) lines.push(`${alert.subject.type[0]!.toUpperCase()}${alert.subject.type.slice(1)}: ${alert.subject.id}`)
  if (alert.count !== undefined) {
    const within = alert.window ? ` within ${alert.window.minutes} minutes (${alert.window.start} to ${alert.window.end})` : ''
    lines.push(`Count: ${alert.count}${within}${alert.threshold !== undefined ? `; the alert threshold is ${alert.threshold}` : ''}`)
  }
  for (const [name, value] of Object.entries(alert.details ?? {})) lines.push(`${name.replace(/_/g, ' ')}: ${value}`)
  return lines
}

function adminMail(audience: AlertAudience, alert: SecurityAlert, meta: RequestMeta, now: number) {
  const wording = WORDING[alert.kind]
  const text = [
    `Mamori raised a security alert for ${tenantLine(audience)}: ${wording.title}.`,
    '',
    wording.happened,
    '',
    ...factLines(alert, now),
    `Request: ${meta.requestId}`,
    '',
    wording.advice,
    `The audit trail holds the event (category "security", action "${ACTION_OF[alert.kind]}").`,
    '',
    'You get this mail because you are an administrator of this tenant.',
  ].join('\n')
  return { subject: `[Mamori] Security alert: ${wording.title}`, text }
}

/** The mail to the account itself: what happened to it, and what to do if it was not them. */
function userMail(audience: AlertAudience, alert: SecurityAlert, now: number) {
  const where = audience.tenant ? ` at ${audience.tenant.name}` : ''
  const what =
    alert.kind === 'new_network_sign_in'
      ? `Your account ${alert.subject.email}${where} was just signed in to from a network it has not used before.`
      : `${WORDING[alert.kind].happened} It is your account, ${alert.subject.email}${where}.`
  const subject = alert.kind === 'new_network_sign_in' ? '[Mamori] New sign-in to your account' : `[Mamori] Security notice: ${WORDING[alert.kind].title}`
  const text = [
    what,
    '',
    ...factLines({ ...alert, subject: { type: 'account', id: null } }, now),
    '',
    ...(alert.kind === 'new_network_sign_in'
      ? ['If this was you, there is nothing to do.', 'If it was not, change your password now and tell your administrator.']
      : ['If this was not you, someone may know or be guessing your password: change it (or ask your administrator to reset it) and tell your administrator.']),
  ].join('\n')
  return { subject, text }
}
