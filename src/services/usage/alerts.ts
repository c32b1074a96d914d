import { and, eq } from 'drizzle-orm'
import { database } from '../../db/client'
import { tenants, users } from '../../db/schema'
import type { UsageAlert } from '../../durable/session-store'
import type { RequestMeta } from '../../lib/request-meta'
import { audit } from '../audit/audit'
import { confirmUsageAlert, tenantSessionUsage } from '../identity/sessions'
import { deliverMail, queueMail } from '../mail/mail'
import { messages, pickLocale, type Locale } from '../../i18n'
import { tenantLimits } from '../tenancy/limits'

/**
 * The mail at 80 % and at 100 % of a tenant's monthly request quota (SE-45),
 * to its active admins and its contact address, once per level, month and
 * quota: the contact's mail carries a dedupe key and is the guarded write,
 * so a repeated signal commits nothing at all, neither mail nor audit event
 * (`tenant.usage_alert`). Afterwards every shard is told, so none signals
 * it again. Runs after the response of the request that reached the level.
 */
export async function sendUsageAlert(env: Env, tenantId: string, alert: UsageAlert, meta: RequestMeta): Promise<void> {
  const db = database(env)
  const [tenant, limits, usage, admins] = await Promise.all([
    db.select({ name: tenants.name, contact: tenants.contactEmail, language: tenants.language }).from(tenants).where(eq(tenants.id, tenantId)).get(),
    tenantLimits(db, tenantId),
    tenantSessionUsage(env, tenantId),
    db
      .select({ email: users.email, language: users.language })
      .from(users)
      .where(and(eq(users.tenantId, tenantId), eq(users.role, 'admin'), eq(users.status, 'active')))
      .orderBy(users.id),
  ])
  if (!tenant || !limits) return
  const quota = limits.inForce.requests_per_month
  const used = Math.max(usage.monthUsed, alert.used)
  const facts = {
    tenantName: tenant.name,
    level: alert.level,
    used,
    quota,
    month: alert.month,
    plan: limits.overrides.requests_per_month === null ? limits.plan : null,
  }
  const key = `usage-alert:${tenantId}:${alert.month}:${alert.level}:${alert.limit}`
  // The contact reads the tenant's language; an admin their own (also when the contact is their address).
  const languageOf = new Map<string, Locale>([[tenant.contact, pickLocale(null, tenant.language)]])
  for (const a of admins) languageOf.set(a.email, pickLocale(a.language, tenant.language))
  const recipients = [tenant.contact, ...admins.map((a) => a.email).filter((e) => e !== tenant.contact)]
  const mails = recipients.map((to, i) => {
    const text = messages(languageOf.get(to)!).mail.usageAlert(facts)
    return queueMail(db, { tenantId, to, subject: text.subject, body: text.text, dedupeKey: i === 0 ? key : `${key}:${to}` })
  })
  const result = await audit(
    env,
    meta,
    {
      tenantId,
      actor: { type: 'system', id: 'usage-meter' },
      action: 'tenant.usage_alert',
      target: { type: 'tenant', id: tenantId },
      outcome: 'success',
      details: { month: alert.month, level: alert.level, used, limit: quota, recipients: recipients.length },
    },
    mails.map((m) => m.write),
    { guard: 0 },
  )
  await confirmUsageAlert(env, tenantId, alert)
  if (result.ok) await deliverMail(env, db, mails.map((m) => m.id))
}
