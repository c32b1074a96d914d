import { and, asc, eq, inArray, sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { jsonList } from '../../db/json-list'
import { maintenanceWindows, noticeJobs } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import type { Defer } from '../../lib/defer'
import { normaliseEmail } from '../../lib/email'
import { newId } from '../../lib/ids'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import { audit } from '../audit/audit'
import { deliverMail } from '../mail/mail'
import { LOCALES, noticeMail, pickLocale, type Locale, type NoticeMessage } from '../../i18n'

/**
 * Notices to many tenants (RE-4..7, AV-2, AV-3, GE-4): the contact address
 * and every active admin of each affected tenant, through the mail outbox.
 *
 * A notice is a row in `notice_jobs`, written in the same transaction as its
 * cause (the window scheduled, the incident opened). Fanning it out is
 * bounded work: a chunk reads the next `tenantsPerChunk` tenants after the
 * job's cursor (one query, the tenant ids bound as one JSON parameter) and
 * queues their mails and moves the cursor in one transaction (one batch), so
 * a chunk costs two D1 queries and at most `chunksPerRun` chunks run per
 * invocation, far inside D1's 1,000 queries. At 10,000 tenants with the
 * defaults a notice reaches everyone in five runs (25 minutes).
 *
 * Each recipient reads it in their own language: the job keeps the notice's
 * parameters (`message`), the chunk's query reads each tenant's language
 * and each admin's own with the addresses, and the chunk writes the text of
 * every language once and lets each mail pick its own.
 *
 * Exactly once: the job's `dedupe_key` names the event (`mw:<id>:started`),
 * each mail's dedupe key names the job, tenant and address, and the cursor
 * moves only from the value the chunk was read at. Two runs of the same slot
 * (or a request's prompt run racing the cron) queue every mail once.
 */
export const NOTICE_LIMITS = { tenantsPerChunk: 100, chunksPerRun: 20 }

export type NoticeScope = 'all' | 'window' | 'incident'

export type NoticePurpose =
  | 'window.scheduled'
  | 'window.changed'
  | 'window.cancelled'
  | 'window.reminder'
  | 'window.started'
  | 'window.ended'
  | 'incident.opened'
  | 'incident.update'
  | 'incident.resolved'
  | 'announcement'

export type NoticeJobInput = {
  dedupeKey: string
  /** `all`, or the tenants listed for the window or incident `scopeId`. */
  scope: NoticeScope
  /** The cause: a window, incident or announcement id. */
  scopeId: string
  purpose: NoticePurpose
  message: NoticeMessage
  now?: string
}

/**
 * The write that creates a notice, to commit with its cause. A notice whose
 * key exists already is left as it is (the insert changes nothing), which a
 * caller can guard on to record it only the first time.
 */
export function noticeJobWrite(input: NoticeJobInput): { id: string; write: SqlWrite } {
  const id = newId('nj')
  return {
    id,
    write: {
      sql: `INSERT INTO notice_jobs (id, dedupe_key, scope, scope_id, purpose, message, status, created_at)
            VALUES (?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT (dedupe_key) DO NOTHING`,
      params: [id, input.dedupeKey, input.scope, input.scopeId, input.purpose, JSON.stringify(input.message), input.now ?? isoNow()],
    },
  }
}

type Job = typeof noticeJobs.$inferSelect

type Recipient = { tenant_id: string; contact: string; tenant_language: string; admin: string | null; admin_language: string | null }

/**
 * The next tenants after the cursor in the job's scope, each with its
 * contact and active admins and the language each address is written to:
 * the tenant's for the contact, the admin's own (else the tenant's) for an
 * admin, and the admin's when the contact address is an admin's too.
 */
async function nextRecipients(db: Database, job: Job, limit: number) {
  const after = job.cursor ?? ''
  const scopeJoin =
    job.scope === 'window'
      ? sql`JOIN maintenance_window_tenants s ON s.tenant_id = t.id AND s.window_id = ${job.scopeId}`
      : job.scope === 'incident'
        ? sql`JOIN incident_tenants s ON s.tenant_id = t.id AND s.incident_id = ${job.scopeId}`
        : sql``
  const rows = (await db.all(sql`
    WITH chunk AS (
      SELECT t.id, t.contact_email, t.language FROM tenants t ${scopeJoin}
      WHERE t.id > ${after} ORDER BY t.id LIMIT ${limit}
    )
    SELECT c.id AS tenant_id, c.contact_email AS contact, c.language AS tenant_language, u.email AS admin, u.language AS admin_language
    FROM chunk c LEFT JOIN users u ON u.tenant_id = c.id AND u.role = 'admin' AND u.status = 'active'
    ORDER BY c.id, u.email
  `)) as Recipient[]
  const byTenant = new Map<string, Map<string, Locale>>()
  for (const row of rows) {
    const addresses = byTenant.get(row.tenant_id) ?? new Map([[normaliseEmail(row.contact), pickLocale(null, row.tenant_language)]])
    if (row.admin) addresses.set(normaliseEmail(row.admin), pickLocale(row.admin_language, row.tenant_language))
    byTenant.set(row.tenant_id, addresses)
  }
  return byTenant
}

/** A reminder whose window changed or closed after it was made would tell tenants something no longer true. */
async function superseded(db: Database, job: Job) {
  if (job.purpose !== 'window.reminder' || !job.scopeId) return false
  const window = await db
    .select({ state: maintenanceWindows.state, notifiedAt: maintenanceWindows.notifiedAt })
    .from(maintenanceWindows)
    .where(eq(maintenanceWindows.id, job.scopeId))
    .get()
  return !window || window.state !== 'scheduled' || window.notifiedAt > job.createdAt
}

/** The notice in every language, as one JSON object keyed by language (`{"ja": {subject, text}, …}`). */
function textsOf(message: NoticeMessage): string {
  return JSON.stringify(Object.fromEntries(LOCALES.map((locale) => [locale, noticeMail(locale, message)])))
}

const GUARD = 'INSERT INTO write_guards (must_stay_empty) SELECT 1 WHERE changes() = 0'

export type NoticeRun = { chunks: number; tenants: number; mails: number; completed: number; mailIds: string[] }

/**
 * Advances pending notices, oldest first, by at most `maxChunks` chunks in
 * all (`jobIds`: only those, for a request's prompt first run). The chunk
 * that reaches the end of the tenants also marks its job done and records
 * it (`notice.completed`) in the same transaction.
 */
export async function runNoticeJobs(
  env: Env,
  db: Database,
  meta: RequestMeta,
  { jobIds, maxChunks = NOTICE_LIMITS.chunksPerRun, tenantsPerChunk = NOTICE_LIMITS.tenantsPerChunk }: { jobIds?: string[]; maxChunks?: number; tenantsPerChunk?: number } = {},
): Promise<NoticeRun> {
  const run: NoticeRun = { chunks: 0, tenants: 0, mails: 0, completed: 0, mailIds: [] }
  const jobs = await db
    .select()
    .from(noticeJobs)
    .where(and(eq(noticeJobs.status, 'pending'), jobIds ? inArray(noticeJobs.id, jsonList(jobIds)) : undefined))
    .orderBy(asc(noticeJobs.id))
    .limit(Math.max(1, maxChunks))
  for (let job of jobs) {
    while (run.chunks < maxChunks && job.status === 'pending') {
      run.chunks++
      const drop = await superseded(db, job)
      const recipients = drop ? new Map<string, Map<string, Locale>>() : await nextRecipients(db, job, tenantsPerChunk)
      const last = drop || recipients.size < tenantsPerChunk
      const now = isoNow()
      const mails = [...recipients].flatMap(([tenant, addresses]) =>
        [...addresses].map(([to, lang]) => ({ id: newId('ml'), tenant, to, lang, key: `notice:${job.id}:${tenant}:${to}` })),
      )
      const cursor = recipients.size ? [...recipients.keys()].at(-1)! : job.cursor
      const advance: SqlWrite = {
        sql: `UPDATE notice_jobs SET cursor = ?, tenants_notified = tenants_notified + ?, mails_queued = mails_queued + ?, status = ?, finished_at = ?
              WHERE id = ? AND status = 'pending' AND cursor IS ?`,
        params: [cursor, recipients.size, mails.length, last ? 'done' : 'pending', last ? now : null, job.id, job.cursor],
      }
      const queue: SqlWrite = {
        sql: `INSERT INTO mail_outbox (id, tenant_id, to_address, subject, body, dedupe_key, sensitive, status, attempts, created_at)
              SELECT json_extract(value, '$.id'), json_extract(value, '$.tenant'), json_extract(value, '$.to'),
                json_extract(?1, '$.' || json_extract(value, '$.lang') || '.subject'), json_extract(?1, '$.' || json_extract(value, '$.lang') || '.text'),
                json_extract(value, '$.key'), 0, 'queued', 0, ?2
              FROM json_each(?3) WHERE true
              ON CONFLICT (dedupe_key) DO NOTHING`,
        params: [textsOf(job.message), now, JSON.stringify(mails)],
      }
      let won: boolean
      if (last) {
        const result = await audit(
          env,
          meta,
          {
            tenantId: null,
            actor: { type: 'system', id: 'notices' },
            action: 'notice.completed',
            target: { type: 'notice', id: job.id },
            outcome: 'success',
            details: {
              purpose: job.purpose,
              cause: job.scopeId,
              tenants: job.tenantsNotified + recipients.size,
              mails: job.mailsQueued + mails.length,
              ...(drop ? { superseded: true } : {}),
            },
          },
          mails.length ? [advance, queue] : [advance],
          { guard: 0 },
        )
        won = result.ok
      } else {
        won = await env.DB.batch([advance, { sql: GUARD, params: [] }, queue].map((w) => env.DB.prepare(w.sql).bind(...w.params)))
          .then(() => true)
          .catch((error) => {
            if (String(error).includes('must_stay_empty')) return false
            throw error
          })
      }
      if (won) {
        run.tenants += recipients.size
        run.mails += mails.length
        run.mailIds.push(...mails.map((m) => m.id))
        if (last) run.completed++
        job = { ...job, cursor, status: last ? 'done' : 'pending', tenantsNotified: job.tenantsNotified + recipients.size, mailsQueued: job.mailsQueued + mails.length }
      } else {
        // Another run moved this notice on meanwhile: carry on from where it is now.
        job = (await db.select().from(noticeJobs).where(eq(noticeJobs.id, job.id)).get()) ?? { ...job, status: 'done' }
      }
    }
  }
  return run
}

/**
 * A request's prompt first run of the notices it just created, after the
 * response: the tenants nearest the start of the order hear at once, the
 * five-minute job does the rest (and anything this run did not finish).
 */
export function sendNoticesSoon(env: Env, db: Database, meta: RequestMeta, jobIds: string[], defer: Defer) {
  defer(
    runNoticeJobs(env, db, meta, { jobIds, maxChunks: 3 })
      .then((run) => (run.mailIds.length ? deliverMail(env, db, run.mailIds.slice(0, 100)) : null))
      .catch((error) => console.error(JSON.stringify({ level: 'error', msg: 'prompt notice run failed', error: String(error) }))),
  )
}
