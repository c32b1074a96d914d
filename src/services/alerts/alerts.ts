import { waitUntil } from 'cloudflare:workers'
import { and, asc, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { tenants, users } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import type { Defer } from '../../lib/defer'
import { describeError } from '../../lib/error-log'
import { newId } from '../../lib/ids'
import { isoNow } from '../../lib/time'
import { deliverMail, queueMail } from '../mail/mail'
import { pickLocale, type Locale, type MailText } from '../../i18n'
import { deliverAlertWebhooks, queueWebhook, webhookConfigured } from './webhook'

/**
 * The alert channel: one way to tell people that something needs their
 * attention, for security alerts today and incidents and maintenance
 * notices later. An alert goes by mail to the tenant's active admins (and,
 * optionally, to the account it is about) through the mail outbox, and to
 * the operators' webhook (ALERT_WEBHOOK_URL) through the alert outbox. Both
 * are queued by writes the caller commits in the same transaction as the
 * audit event that records the alert, so there is no alert without its event
 * and no event claiming an alert that was never queued.
 */

/** At most this many admins are mailed one alert: a bounded batch, whatever the tenant's size. */
export const ADMIN_RECIPIENTS_MAX = 50

/** Who hears of alerts about one tenant (or, for null, the platform: the webhook only). */
export type AlertAudience = {
  tenant: { id: string; slug: string; name: string; language: Locale } | null
  /** Active admins' addresses and the language each reads, oldest accounts first, at most ADMIN_RECIPIENTS_MAX. */
  admins: { email: string; locale: Locale }[]
}

/** The tenant and its active admins with their languages, in one query. */
export async function alertAudience(db: Database, tenantId: string | null): Promise<AlertAudience> {
  if (!tenantId) return { tenant: null, admins: [] }
  const rows = await db
    .select({ id: tenants.id, slug: tenants.slug, name: tenants.name, language: tenants.language, email: users.email, own: users.language })
    .from(tenants)
    .leftJoin(users, and(eq(users.tenantId, tenants.id), eq(users.role, 'admin'), eq(users.status, 'active')))
    .where(eq(tenants.id, tenantId))
    .orderBy(asc(users.createdAt))
    .limit(ADMIN_RECIPIENTS_MAX)
  const first = rows[0]
  if (!first) return { tenant: null, admins: [] }
  return {
    tenant: { id: first.id, slug: first.slug, name: first.name, language: first.language },
    admins: rows.flatMap((r) => (r.email ? [{ email: r.email, locale: pickLocale(r.own, r.language) }] : [])),
  }
}

export type AlertNotice = {
  /** What kind of notice: `security` now; `operations` for incidents and maintenance later. */
  category: string
  /** Machine name of what happened (`new_network_sign_in`, `download_burst`, …). */
  kind: string
  /** The audit action of the event that records the alert. */
  action: string
  /** The admins' mail in one language. Plain text; never a secret (no passwords, tokens, codes or keys). */
  mail: (locale: Locale) => MailText
  /** Also mail the account the alert is about (it is left out of the admins' copy), in its own language. */
  user?: { email: string; mail: MailText }
  /**
   * The facts the webhook receiver gets besides id, category, kind, action,
   * time and tenant. Operators read it: ids, counts, windows and networks,
   * never secrets and never an e-mail address.
   */
  facts: Record<string, unknown>
}

export type QueuedAlert = {
  /** The alert's id: the webhook delivery's id and `Mamori-Alert-Id`, and `alert_id` in the audit event. */
  id: string
  /** Commit these with the alert's audit event. */
  writes: SqlWrite[]
  mailIds: string[]
  webhook: boolean
  notified: { admins: number; user: boolean; webhook: boolean }
}

/**
 * The writes that queue one alert: a mail to each of the audience's admins
 * (except the account the alert is about, which gets its own mail), the
 * account's mail, and the webhook delivery when a webhook is configured.
 */
export function alertWrites(env: Pick<Env, 'ALERT_WEBHOOK_URL'>, db: Database, audience: AlertAudience, notice: AlertNotice, now = Date.now()): QueuedAlert {
  const id = newId('alr', now)
  const tenantId = audience.tenant?.id ?? null
  const admins = audience.admins.filter((a) => a.email !== notice.user?.email)
  const texts = new Map<Locale, MailText>()
  const mailIn = (locale: Locale) => texts.get(locale) ?? texts.set(locale, notice.mail(locale)).get(locale)!
  const mails = [
    ...admins.map(({ email, locale }) => queueMail(db, { tenantId, to: email, subject: mailIn(locale).subject, body: mailIn(locale).text })),
    ...(notice.user ? [queueMail(db, { tenantId, to: notice.user.email, subject: notice.user.mail.subject, body: notice.user.mail.text })] : []),
  ]
  const webhook = webhookConfigured(env)
  const payload = JSON.stringify({
    id,
    category: notice.category,
    kind: notice.kind,
    action: notice.action,
    occurred_at: isoNow(now),
    tenant: audience.tenant ? { id: audience.tenant.id, slug: audience.tenant.slug } : null,
    ...notice.facts,
  })
  return {
    id,
    writes: [...mails.map((m) => m.write), ...(webhook ? [queueWebhook(db, { id, tenantId, kind: notice.kind, payload }, now)] : [])],
    mailIds: mails.map((m) => m.id),
    webhook,
    notified: { admins: admins.length, user: notice.user !== undefined, webhook },
  }
}

/** Runs work after the response where the runtime offers it (a request or a cron run), else just lets it run. */
export const afterResponse: Defer = (work) => {
  try {
    waitUntil(work)
  } catch {
    void work
  }
}

/**
 * Starts delivering a committed alert at once (the five-minute cron retries
 * whatever this misses). Failures are logged, never thrown: the alert is
 * already safe in the outboxes.
 */
export function deliverAlertSoon(env: Env, db: Database, queued: QueuedAlert, defer: Defer = afterResponse) {
  const work = Promise.all([
    queued.mailIds.length > 0 ? deliverMail(env, db, queued.mailIds) : null,
    queued.webhook ? deliverAlertWebhooks(env, db, { ids: [queued.id] }) : null,
  ]).catch(async (error: unknown) =>
    console.error(JSON.stringify({ level: 'error', msg: 'alert delivery failed', alert_id: queued.id, ...(await describeError(error)) })),
  )
  defer(work)
}
