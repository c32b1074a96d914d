import { sql, type SQL } from 'drizzle-orm'
import { monthlyAvailability, type MonthlyAvailability } from '../../operations/availability'
import { affectsTenant } from '../../operations/incidents'
import { standingRule } from '../../operations/standing-rule'
import type { StandingRule, WindowKind } from '../../operations/calendar'
import type { EvidenceContext } from './provider'

/**
 * The operations module's records as the report reads them (AV-1..3,
 * AV-5, AV-10, RE-1..7, SE-40, GE-4/6): one query each, run once per report
 * (EvidenceContext.once), scoped to the tenant (its own and the
 * platform-wide windows and incidents) or, for the platform, over
 * everything. The notices' mails are counted in the same query as their
 * cause, through the notice and mail dedupe keys (`mw:<id>:scheduled`,
 * `inc:<id>:…`, `ann:<id>`; `notice:<job>:<tenant>:<address>`), which are
 * unique indexes, so a count is a range read however many mails there are.
 */

type Row = Record<string, unknown>

const num = (value: unknown) => Number(value ?? 0)

/** This tenant's mails of notice job `job` (a column expression), or every tenant's (platform view). */
function mailsOf(ctx: EvidenceContext, job: SQL, onlySent = false): SQL {
  const sent = onlySent ? sql` AND o.status = 'sent'` : sql``
  // ';' is the character after ':', so [`…:`, `…;`) holds exactly the keys that start with `…:`.
  const [from, until] =
    ctx.tenantId === null
      ? [sql`'notice:' || ${job} || ':'`, sql`'notice:' || ${job} || ';'`]
      : [sql`'notice:' || ${job} || ':' || ${ctx.tenantId} || ':'`, sql`'notice:' || ${job} || ':' || ${ctx.tenantId} || ';'`]
  return sql`(SELECT count(*) FROM mail_outbox o WHERE o.dedupe_key >= ${from} AND o.dedupe_key < ${until}${sent})`
}

/** AV-5, RE-1, RE-2 exactly as the operations module computes them (no second arithmetic here). */
export function availabilityFacts(ctx: EvidenceContext): Promise<MonthlyAvailability> {
  return ctx.once('availability', () => monthlyAvailability(ctx.db, ctx.month.month, ctx.tenantId ?? undefined, ctx.now))
}

/** The standing monthly window's rule in force (AV-1), as the maintenance calendar reads it. */
export function standingRuleFacts(ctx: EvidenceContext): Promise<{ rule: StandingRule; updated_at: string | null }> {
  return ctx.once('standing-rule', () => standingRule(ctx.db))
}

/** A scheduled window as evidence: its times, how much notice it was first given, and that notice's mail. */
export type WindowFact = {
  id: string
  kind: WindowKind
  state: string
  starts_at: string
  ends_at: string
  duration_minutes: number
  emergency: boolean
  reason: string | null
  announced_at: string
  /** From when tenants were first told (the window was scheduled) to its start, in days (one decimal, rounded down). */
  notice_days: number
  /** The scheduling notice: its fan-out state and the mails it queued (this tenant's, or every tenant's). */
  notice: { status: string | null; mails: number }
}

export type WindowFacts = {
  /** Windows (not cancelled) starting in the report month. */
  month: WindowFact[]
  /** Windows still scheduled to start after now. */
  upcoming: WindowFact[]
  /** More windows matched than were read (the lists stop at WINDOW_LIMIT). */
  truncated: boolean
}

const WINDOW_LIMIT = 50

const floorTenth = (days: number) => Math.floor(days * 10) / 10

export function windowFacts(ctx: EvidenceContext): Promise<WindowFacts> {
  return ctx.once('windows', async () => {
    const now = new Date(ctx.now).toISOString()
    const scope =
      ctx.tenantId === null
        ? sql`1 = 1`
        : sql`(w.all_tenants = 1 OR EXISTS (SELECT 1 FROM maintenance_window_tenants t WHERE t.window_id = w.id AND t.tenant_id = ${ctx.tenantId}))`
    const rows = await ctx.db.all<Row>(sql`
      SELECT w.id, w.kind, w.state, w.starts_at, w.ends_at, w.duration_minutes, w.emergency, w.reason, w.created_at,
        j.status AS notice_status, CASE WHEN j.id IS NULL THEN 0 ELSE ${mailsOf(ctx, sql`j.id`)} END AS notice_mails,
        count(*) OVER () AS total
      FROM maintenance_windows w LEFT JOIN notice_jobs j ON j.dedupe_key = 'mw:' || w.id || ':scheduled'
      WHERE w.state != 'cancelled' AND ${scope}
        AND ((w.starts_at >= ${ctx.month.from} AND w.starts_at < ${ctx.month.until}) OR (w.state = 'scheduled' AND w.starts_at > ${now}))
      ORDER BY w.starts_at, w.id LIMIT ${WINDOW_LIMIT}`)
    const windows = rows.map(
      (r): WindowFact & { starts: number } => ({
        id: String(r.id),
        kind: r.kind as WindowKind,
        state: String(r.state),
        starts_at: String(r.starts_at),
        ends_at: String(r.ends_at),
        duration_minutes: num(r.duration_minutes),
        emergency: num(r.emergency) === 1,
        reason: r.reason === null ? null : String(r.reason),
        announced_at: String(r.created_at),
        notice_days: floorTenth((Date.parse(String(r.starts_at)) - Date.parse(String(r.created_at))) / 86_400_000),
        notice: { status: r.notice_status === null ? null : String(r.notice_status), mails: num(r.notice_mails) },
        starts: Date.parse(String(r.starts_at)),
      }),
    )
    const strip = ({ starts: _, ...w }: WindowFact & { starts: number }): WindowFact => w
    const from = Date.parse(ctx.month.from)
    const until = Date.parse(ctx.month.until)
    return {
      month: windows.filter((w) => w.starts >= from && w.starts < until).map(strip),
      upcoming: windows.filter((w) => w.state === 'scheduled' && w.starts > ctx.now).map(strip),
      truncated: num(rows[0]?.total) > rows.length,
    }
  })
}

/** An announcement as evidence (AV-3, AV-9): when it was made, when it takes effect, and its mail. */
export type AnnouncementFact = {
  id: string
  kind: 'end_of_service' | 'upgrade'
  subject: string
  effective_at: string
  announced_at: string
  /** From the announcement to when it takes effect, in days (one decimal, rounded down). */
  notice_days: number
  notice: { status: string | null; mails: number }
}

const ANNOUNCEMENT_LIMIT = 20

/**
 * End-of-service announcements not yet effective when the report month
 * began, and upgrades announced in the month or taking effect in it or
 * later. Announcements go to every tenant, so there is nothing to scope.
 */
export function announcementFacts(ctx: EvidenceContext): Promise<{ endOfService: AnnouncementFact[]; upgrades: AnnouncementFact[]; truncated: boolean }> {
  return ctx.once('announcements', async () => {
    const rows = await ctx.db.all<Row>(sql`
      SELECT a.id, a.kind, a.subject, a.effective_at, a.created_at, j.status AS notice_status,
        CASE WHEN j.id IS NULL THEN 0 ELSE ${mailsOf(ctx, sql`j.id`)} END AS notice_mails, count(*) OVER () AS total
      FROM announcements a LEFT JOIN notice_jobs j ON j.dedupe_key = 'ann:' || a.id
      WHERE (a.kind = 'end_of_service' AND a.effective_at >= ${ctx.month.from})
        OR (a.kind = 'upgrade' AND (a.effective_at >= ${ctx.month.from} OR (a.created_at >= ${ctx.month.from} AND a.created_at < ${ctx.month.until})))
      ORDER BY a.effective_at, a.id LIMIT ${ANNOUNCEMENT_LIMIT}`)
    const facts = rows.map(
      (r): AnnouncementFact => ({
        id: String(r.id),
        kind: r.kind as AnnouncementFact['kind'],
        subject: String(r.subject),
        effective_at: String(r.effective_at),
        announced_at: String(r.created_at),
        notice_days: floorTenth((Date.parse(String(r.effective_at)) - Date.parse(String(r.created_at))) / 86_400_000),
        notice: { status: r.notice_status === null ? null : String(r.notice_status), mails: num(r.notice_mails) },
      }),
    )
    return {
      endOfService: facts.filter((a) => a.kind === 'end_of_service'),
      upgrades: facts.filter((a) => a.kind === 'upgrade'),
      truncated: num(rows[0]?.total) > rows.length,
    }
  })
}

/** The notices of the incidents opened in the report month, and the incidents the tenant can see. */
export type IncidentNoticeFacts = {
  /** Incidents opened in the month (in scope) that have their opening notice. */
  notifiedAtOpening: number
  /** Timeline entries after the opening (updates and the resolution) of those incidents. */
  laterUpdates: number
  /** Notices of those entries (`incident.update`, `incident.resolved`). */
  laterNotices: number
  /** Every notice of those incidents, and how many have reached every tenant they go to. */
  notices: number
  noticesDone: number
  /** Mails those notices queued and the outbox has delivered: this tenant's, or every tenant's. */
  mailsQueued: number
  mailsSent: number
  /** Incidents in scope, ever, and open now (what GET /api/v1/incidents lists for the tenant). */
  visible: number
  openNow: number
  /** The month's incident ids (at most 20), so a reader can find them in the incident list. */
  ids: string[]
}

export function incidentNoticeFacts(ctx: EvidenceContext): Promise<IncidentNoticeFacts> {
  return ctx.once('incident-notices', async () => {
    const scope = ctx.tenantId === null ? sql`1 = 1` : affectsTenant(ctx.tenantId)
    const queued = ctx.tenantId === null ? sql`(SELECT coalesce(sum(mails_queued), 0) FROM jobs)` : sql`(SELECT coalesce(sum(${mailsOf(ctx, sql`jobs.job_id`)}), 0) FROM jobs)`
    const row = (await ctx.db.get<Row>(sql`
      WITH month_incidents AS (
        SELECT incidents.id AS id FROM incidents
        WHERE incidents.opened_at >= ${ctx.month.from} AND incidents.opened_at < ${ctx.month.until} AND ${scope}
      ),
      jobs AS (
        SELECT m.id AS incident_id, j.id AS job_id, j.purpose, j.status, j.mails_queued
        FROM month_incidents m JOIN notice_jobs j ON j.dedupe_key >= 'inc:' || m.id || ':' AND j.dedupe_key < 'inc:' || m.id || ';'
      )
      SELECT
        (SELECT count(DISTINCT incident_id) FROM jobs WHERE purpose = 'incident.opened') AS notified_at_opening,
        (SELECT count(*) FROM incident_updates u JOIN month_incidents m ON m.id = u.incident_id) - (SELECT count(*) FROM month_incidents) AS later_updates,
        (SELECT count(*) FROM jobs WHERE purpose IN ('incident.update', 'incident.resolved')) AS later_notices,
        (SELECT count(*) FROM jobs) AS notices,
        (SELECT count(*) FROM jobs WHERE status = 'done') AS notices_done,
        ${queued} AS mails_queued,
        (SELECT coalesce(sum(${mailsOf(ctx, sql`jobs.job_id`, true)}), 0) FROM jobs) AS mails_sent,
        (SELECT count(*) FROM incidents WHERE ${scope}) AS visible,
        (SELECT count(*) FROM incidents WHERE incidents.status = 'investigating' AND ${scope}) AS open_now,
        (SELECT json_group_array(id) FROM (SELECT id FROM month_incidents ORDER BY id LIMIT 20)) AS ids`))!
    return {
      notifiedAtOpening: num(row.notified_at_opening),
      laterUpdates: num(row.later_updates),
      laterNotices: num(row.later_notices),
      notices: num(row.notices),
      noticesDone: num(row.notices_done),
      mailsQueued: num(row.mails_queued),
      mailsSent: num(row.mails_sent),
      visible: num(row.visible),
      openNow: num(row.open_now),
      ids: JSON.parse(String(row.ids ?? '[]')) as string[],
    }
  })
}
