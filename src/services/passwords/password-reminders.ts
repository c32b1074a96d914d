import { sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import type { SqlWrite } from '../../durable/audit-chain'
import { DAY_MS } from '../../lib/time'
import { DEFAULT_POLICY } from '../../schemas/policy'
import { audit } from '../audit/audit'
import { deliverMail, queueMail } from '../mail/mail'
import { messages, pickLocale } from '../../i18n'

/** Reminders go out when this many days or fewer are left, each once per password. */
export const REMINDER_DAYS = [7, 1] as const

/**
 * Reminders queued per run. Each costs one audit append (a few D1 queries), so
 * a run stays far below the 1,000 queries of one invocation; the rest wait for
 * the next run five minutes later, since already-queued reminders drop out of
 * the candidates.
 */
export const REMINDERS_PER_RUN = 100

type Candidate = {
  id: string
  tenant_id: string
  email: string
  /** The account's language, else its tenant's. */
  language: string | null
  password_changed_at: string
  max_age: number
  threshold: (typeof REMINDER_DAYS)[number]
}

const dedupeKey = (user: Pick<Candidate, 'id' | 'password_changed_at' | 'threshold'>) =>
  `password-expiry:${user.id}:${user.password_changed_at}:${user.threshold}d`

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
  // Only passwords inside their last 7 days whose reminder for that threshold is
  // not queued yet; the role's maximum age comes from the tenant's policy, or
  // the platform default.
  const candidates = (await db.all(sql`
    WITH due AS (
      SELECT u.id, u.tenant_id, u.email, COALESCE(u.language, t.language) AS language, u.password_changed_at,
        COALESCE(json_extract(p.policy, '$.password_max_age_days.' || u.role),
                 CASE u.role WHEN 'admin' THEN ${DEFAULT_POLICY.password_max_age_days.admin} ELSE ${DEFAULT_POLICY.password_max_age_days.member} END) AS max_age
      FROM users u
      JOIN tenants t ON t.id = u.tenant_id AND t.status = 'active'
      LEFT JOIN tenant_policies p ON p.tenant_id = u.tenant_id
      WHERE u.status = 'active' AND u.must_change_password = 0
    ), left_days AS (
      SELECT due.*, julianday(password_changed_at) + max_age - julianday(${at}) AS days_left FROM due
    ), pending AS (
      SELECT id, tenant_id, email, language, password_changed_at, max_age,
        -- D1 binds numbers as REAL: cast, so the key reads '7d', not '7.0d'.
        CAST(CASE WHEN days_left <= ${REMINDER_DAYS[1]} THEN ${REMINDER_DAYS[1]} ELSE ${REMINDER_DAYS[0]} END AS INTEGER) AS threshold
      FROM left_days WHERE days_left > 0 AND days_left <= ${REMINDER_DAYS[0]}
    )
    SELECT * FROM pending
    WHERE NOT EXISTS (
      SELECT 1 FROM mail_outbox m
      WHERE m.dedupe_key = 'password-expiry:' || pending.id || ':' || pending.password_changed_at || ':' || pending.threshold || 'd'
    )
    ORDER BY password_changed_at, id
    LIMIT ${REMINDERS_PER_RUN}
  `)) as Candidate[]
  let queued = 0
  for (const user of candidates) {
    const { max_age: maxAge, threshold } = user
    const expiresAt = Date.parse(user.password_changed_at) + maxAge * DAY_MS
    const text = messages(pickLocale(user.language)).mail.passwordExpiry({ daysLeft: threshold, expiresAt: new Date(expiresAt).toISOString(), maxAgeDays: maxAge })
    const mail = queueMail(db, { tenantId: user.tenant_id, to: user.email, subject: text.subject, body: text.text, dedupeKey: dedupeKey(user) })
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
