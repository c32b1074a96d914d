import { and, desc, eq, lt, sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { announcements, noticeJobs } from '../../db/schema'
import { decodeCursor, page } from '../../lib/cursor'
import type { Defer } from '../../lib/defer'
import { ID_PATTERN, newId } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import type { Announcement, AnnouncementCreate } from '../../schemas/operations'
import { audit, type AuditActor } from '../audit/audit'
import { END_OF_SERVICE_LEAD_MS, endOfServiceLeadMet } from './calendar'
import { noticeJobWrite, sendNoticesSoon } from './notices'

/**
 * Announcements to every tenant (AV-3, AV-9): end of service needs 183 days'
 * notice (no emergency bypass: a service does not end by surprise);
 * upgrades and notices go out at once. Each is mailed to every tenant's
 * contact and admins through a bounded notice, and shows on /status.
 */

type AnnouncementRow = typeof announcements.$inferSelect
type JobRow = Pick<typeof noticeJobs.$inferSelect, 'status' | 'tenantsNotified' | 'mailsQueued'>

function toAnnouncement(row: AnnouncementRow, job: JobRow | null): Announcement {
  return {
    id: row.id,
    kind: row.kind,
    effective_at: row.effectiveAt,
    subject: row.subject,
    body: row.body,
    created_by: row.createdBy,
    created_at: row.createdAt,
    notice: job ? { status: job.status, tenants_notified: job.tenantsNotified, mails_queued: job.mailsQueued } : null,
  }
}

const dedupeKey = (id: string) => `ann:${id}`

export async function createAnnouncement(env: Env, db: Database, input: AnnouncementCreate, actor: AuditActor, meta: RequestMeta, defer: Defer) {
  const now = Date.now()
  const effective = Date.parse(input.effective_at)
  if (input.kind === 'end_of_service' && !endOfServiceLeadMet(effective, now)) {
    const earliest = new Date(now + END_OF_SERVICE_LEAD_MS).toISOString()
    throw Problem.leadTimeTooShort(`End of service needs 183 days' notice (AV-3): make it effective at ${earliest} or later.`, 'body.effective_at', earliest)
  }
  const at = new Date(now).toISOString()
  const row: AnnouncementRow = {
    id: newId('ann'),
    kind: input.kind,
    effectiveAt: new Date(effective).toISOString(),
    subject: input.subject,
    body: input.body,
    createdBy: `${actor.type}:${actor.id}`,
    createdAt: at,
  }
  const job = noticeJobWrite({
    dedupeKey: dedupeKey(row.id),
    scope: 'all',
    scopeId: row.id,
    purpose: 'announcement',
    message: { kind: 'announcement', announcement: { kind: row.kind, effective_at: row.effectiveAt, subject: row.subject, body: row.body } },
    now: at,
  })
  await audit(
    env,
    meta,
    {
      tenantId: null,
      actor,
      action: 'announcement.create',
      target: { type: 'announcement', id: row.id },
      outcome: 'success',
      details: { kind: row.kind, effective_at: row.effectiveAt, subject: row.subject },
    },
    [db.insert(announcements).values(row).toSQL(), job.write],
  )
  sendNoticesSoon(env, db, meta, [job.id], defer)
  return toAnnouncement(row, { status: 'pending', tenantsNotified: 0, mailsQueued: 0 })
}

/** Newest first, each with how far its mail has got. */
export async function listAnnouncements(db: Database, query: { limit: number; cursor?: string | undefined }) {
  const before = decodeCursor(query.cursor, ID_PATTERN)
  const rows = await db
    .select({ a: announcements, status: noticeJobs.status, tenantsNotified: noticeJobs.tenantsNotified, mailsQueued: noticeJobs.mailsQueued })
    .from(announcements)
    .leftJoin(noticeJobs, eq(noticeJobs.dedupeKey, sql`'ann:' || ${announcements.id}`))
    .where(and(before ? lt(announcements.id, before) : undefined))
    .orderBy(desc(announcements.id))
    .limit(query.limit + 1)
  return page(
    rows.map((r) => toAnnouncement(r.a, r.status ? { status: r.status, tenantsNotified: r.tenantsNotified!, mailsQueued: r.mailsQueued! } : null)),
    query.limit,
    (a) => a.id,
  )
}

/** The latest announcements, for /status (platform-wide by nature: they go to every tenant). */
export async function recentAnnouncements(db: Database, limit = 5) {
  const rows = await db.select().from(announcements).orderBy(desc(announcements.id)).limit(limit)
  return rows.map((r) => ({ id: r.id, kind: r.kind, effective_at: r.effectiveAt, subject: r.subject, body: r.body, created_at: r.createdAt }))
}
