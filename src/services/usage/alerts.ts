import { and, eq } from 'drizzle-orm'
import { database } from '../../db/client'
import { tenants, users } from '../../db/schema'
import type { UsageAlert } from '../../durable/session-store'
import type { RequestMeta } from '../../lib/request-meta'
import { audit } from '../audit/audit'
import { confirmUsageAlert, tenantSessionUsage } from '../identity/sessions'
import { deliverMail, queueMail } from '../mail/mail'
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
    db.select({ name: tenants.name, contact: tenants.contactEmail }).from(tenants).where(eq(tenants.id, tenantId)).get(),
    tenantLimits(db, tenantId),
    tenantSessionUsage(env, tenantId),
    db
      .select({ email: users.email })
      .from(users)
      .where(and(eq(users.tenantId, tenantId), eq(users.role, 'admin'), eq(users.status, 'active')))
      .orderBy(users.id),
  ])
  if (!tenant || !limits) return
  const quota = limits.inForce.requests_per_month
  const used = Math.max(usage.monthUsed, alert.used)
  const subject =
    alert.level >= 100
      ? `Mamori: ${tenant.name} has used its monthly request quota (${alert.month})`
      : `Mamori: ${tenant.name} has used ${alert.level} % of its monthly request quota (${alert.month})`
  const body =
    `Your organisation ${tenant.name} has made ${used} of the ${quota} requests its ${limits.overrides.requests_per_month === null ? `${limits.plan} plan` : 'contract'} allows in ${alert.month} (Japan time).\n\n` +
    (alert.level >= 100
      ? 'Further requests are refused (HTTP 429) until the month ends, unless an operator raises the quota.\n'
      : 'Once the quota is used up, further requests are refused (HTTP 429) until the month ends.\n') +
    '\nThe usage so far: GET /api/v1/usage (tenant admins).\n'
  const key = `usage-alert:${tenantId}:${alert.month}:${alert.level}:${alert.limit}`
  const recipients = [tenant.contact, ...admins.map((a) => a.email).filter((e) => e !== tenant.contact)]
  const mails = recipients.map((to, i) => queueMail(db, { tenantId, to, subject, body, dedupeKey: i === 0 ? key : `${key}:${to}` }))
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
