import { sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import type { SqlWrite } from '../../durable/audit-chain'
import { DAY_MS } from '../../lib/time'
import { DEFAULT_POLICY } from '../../schemas/policy'
import { audit } from '../audit/audit'
import { deliverMail, queueMail } from '../mail/mail'

/** Reminders go out when this many days or fewer are left, each once per password. */
export const REMINDER_DAYS = [7, 1] as const

type Candidate = {
  id: string
  tenant_id: string
  email: string
  role: 'admin' | 'member'
  password_changed_at: string
  max_age: number
}

/**
 * Queues password-expiry reminders (SE-13, SE-19): 7 days and 1 day before
 * a password reaches its role's maximum age, each exactly once per password
 * (the outbox's dedupe key names the user, the password's date and the
 * threshold). Returns how many reminders were queued.
 */
export async function queueExpiryReminders(env: Env, db: Database, now = Date.now()): Promise<number> {
  const at = new Date(now).toISOString()
  // Only passwords inside their last 7 days; the role's maximum age comes from
  // the tenant's policy, or the platform default.
  const candidates = (await db.all(sql`
    SELECT u.id, u.tenant_id, u.email, u.role, u.password_changed_at,
      COALESCE(json_extract(p.policy, '$.password_max_age_days.' || u.role),
               CASE u.role WHEN 'admin' THEN ${DEFAULT_POLICY.password_max_age_days.admin} ELSE ${DEFAULT_POLICY.password_max_age_days.member} END) AS max_age
    FROM users u
    JOIN tenants t ON t.id = u.tenant_id AND t.status = 'active'
    LEFT JOIN tenant_policies p ON p.tenant_id = u.tenant_id
    WHERE u.status = 'active' AND u.must_change_password = 0
      AND julianday(u.password_changed_at) + max_age - ${REMINDER_DAYS[0]} <= julianday(${at})
      AND julianday(u.password_changed_at) + max_age > julianday(${at})
  `)) as Candidate[]
  let queued = 0
  for (const user of candidates) {
    const maxAge = user.max_age
    const expiresAt = Date.parse(user.password_changed_at) + maxAge * DAY_MS
    const daysLeft = (expiresAt - now) / DAY_MS
    if (daysLeft <= 0) continue
    const threshold = [...REMINDER_DAYS].reverse().find((d) => daysLeft <= d)
    if (threshold === undefined) continue
    const mail = queueMail(db, {
      tenantId: user.tenant_id,
      to: user.email,
      subject: `Mamori: your password expires in ${threshold === 1 ? '1 day' : `${threshold} days`}`,
      body: `Your Mamori password expires on ${new Date(expiresAt).toISOString()} (your organisation's rule: change it every ${maxAge} days).\n\nChange it before then under your account settings; after that date you will be asked to change it when you sign in.\n`,
      dedupeKey: `password-expiry:${user.id}:${user.password_changed_at}:${threshold}d`,
    })
    const writes: SqlWrite[] = [mail.write]
    const result = await audit(
      env,
      { requestId: `cron:${now}`, ip: null, userAgent: null },
      {
        tenantId: user.tenant_id,
        actor: { type: 'system', id: 'password-reminders' },
        action: 'auth.password_expiry_reminder',
        target: { type: 'user', id: user.id },
        outcome: 'success',
        details: { days_left: threshold, expires_at: new Date(expiresAt).toISOString() },
      },
      writes,
      // A reminder already queued for this password and threshold: nothing to do.
      { guard: 0 },
    )
    if (result.ok) queued++
  }
  if (queued) await deliverMail(env, db)
  return queued
}
