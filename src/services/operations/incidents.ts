import { and, asc, desc, eq, inArray, lt, sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { jsonList } from '../../db/json-list'
import { incidentUpdates, incidents } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { decodeCursor, page } from '../../lib/cursor'
import type { Defer } from '../../lib/defer'
import { ID_PATTERN, newId } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import type { Incident, IncidentCreate, IncidentPatch, TenantIncident } from '../../schemas/operations'
import { audit, type AuditActor } from '../audit/audit'
import type { IncidentEvent } from '../../i18n'
import { noticeJobWrite, sendNoticesSoon } from './notices'
import { notifyOperators } from './operator-alerts'
import { requireTenants } from './windows'

/**
 * Incidents (RE-1..7, SE-40, GE-4): opened by an operator or by the
 * self-check, updated, resolved once. Each step is audited on the platform
 * chain with the notice that mails every affected tenant's contact and
 * admins, and tells the operators (notifyOperators). A resolved incident is
 * not reopened (a recurrence is a new incident), so each incident is one
 * interval [opened_at, resolved_at) for downtime and MTTR.
 */

type IncidentRow = typeof incidents.$inferSelect
type UpdateRow = typeof incidentUpdates.$inferSelect

function toTenantIncident(row: IncidentRow, updates: UpdateRow[]): TenantIncident {
  return {
    id: row.id,
    title: row.title,
    description: row.description,
    severity: row.severity,
    status: row.status,
    opened_at: row.openedAt,
    resolved_at: row.resolvedAt,
    updates: updates.map((u) => ({ id: u.id, at: u.at, status: u.status, message: u.message })),
  }
}

function toIncident(row: IncidentRow, updates: UpdateRow[]): Incident {
  return {
    ...toTenantIncident(row, updates),
    source: row.source,
    failed_check: row.failedCheck,
    tenant_ids: row.allTenants ? null : (row.tenantIds ?? []),
    opened_by: row.openedBy,
    updated_at: row.updatedAt,
  }
}

/** The timelines of a page of incidents, in one query. */
export async function updatesOfIncidents(db: Database, ids: string[]) {
  const byIncident = new Map<string, UpdateRow[]>()
  if (!ids.length) return byIncident
  const rows = await db.select().from(incidentUpdates).where(inArray(incidentUpdates.incidentId, jsonList(ids))).orderBy(asc(incidentUpdates.id))
  for (const row of rows) byIncident.set(row.incidentId, [...(byIncident.get(row.incidentId) ?? []), row])
  return byIncident
}

/** Every incident, newest first (operators). */
export async function listIncidents(db: Database, query: { limit: number; cursor?: string | undefined; status?: IncidentRow['status'] | undefined }) {
  const before = decodeCursor(query.cursor, ID_PATTERN)
  const rows = await db
    .select()
    .from(incidents)
    .where(and(before ? lt(incidents.id, before) : undefined, query.status ? eq(incidents.status, query.status) : undefined))
    .orderBy(desc(incidents.id))
    .limit(query.limit + 1)
  const updates = await updatesOfIncidents(db, rows.slice(0, query.limit).map((r) => r.id))
  return page(
    rows.map((r) => toIncident(r, updates.get(r.id) ?? [])),
    query.limit,
    (i) => i.id,
  )
}

/** SQL true for the incidents that concern a tenant: its own, and those of every tenant not over before it existed. */
export function affectsTenant(tenantId: string) {
  return sql`(
    EXISTS (SELECT 1 FROM incident_tenants it WHERE it.incident_id = ${incidents.id} AND it.tenant_id = ${tenantId})
    OR (${incidents.allTenants} = 1 AND (${incidents.resolvedAt} IS NULL OR ${incidents.resolvedAt} >= (SELECT created_at FROM tenants WHERE id = ${tenantId})))
  )`
}

/** SE-40: the incidents that affect the caller's tenant, newest first; nothing says which other tenants shared them. */
export async function listTenantIncidents(db: Database, tenantId: string, query: { limit: number; cursor?: string | undefined }) {
  const before = decodeCursor(query.cursor, ID_PATTERN)
  const rows = await db
    .select()
    .from(incidents)
    .where(and(affectsTenant(tenantId), before ? lt(incidents.id, before) : undefined))
    .orderBy(desc(incidents.id))
    .limit(query.limit + 1)
  const updates = await updatesOfIncidents(db, rows.slice(0, query.limit).map((r) => r.id))
  return page(
    rows.map((r) => toTenantIncident(r, updates.get(r.id) ?? [])),
    query.limit,
    (i) => i.id,
  )
}

async function findIncident(db: Database, id: string) {
  const row = ID_PATTERN.test(id) && id.startsWith('inc_') ? await db.select().from(incidents).where(eq(incidents.id, id)).get() : undefined
  if (!row) throw Problem.notFound('incident', id)
  return row
}

function incidentNoticeWrite(row: IncidentRow, event: IncidentEvent, dedupeKey: string, now: string) {
  return noticeJobWrite({
    dedupeKey,
    scope: row.allTenants ? 'all' : 'incident',
    scopeId: row.id,
    purpose: event.kind === 'opened' ? 'incident.opened' : event.kind === 'update' ? 'incident.update' : 'incident.resolved',
    message: {
      kind: 'incident',
      event,
      incident: { title: row.title, description: row.description, severity: row.severity, opened_at: row.openedAt, resolved_at: row.resolvedAt },
    },
    now,
  })
}

export type OpenOptions = {
  source?: 'operator' | 'self-check'
  failedCheck?: string
  /** When it began, if earlier than now (the self-check's first failure). */
  openedAt?: string
  /** A request's: mail the first tenants right after the response. A job leaves it to the notice run that follows. */
  defer?: Defer
}

/**
 * Opens an incident and mails every affected tenant at once (RE-4..6). The
 * self-check opens its own with `source: 'self-check'` and the time of its
 * first failed probe.
 */
export async function openIncident(env: Env, db: Database, input: IncidentCreate, actor: AuditActor, meta: RequestMeta, options: OpenOptions = {}) {
  await requireTenants(db, input.tenant_ids)
  const now = new Date().toISOString()
  const row: IncidentRow = {
    id: newId('inc'),
    title: input.title,
    description: input.description,
    severity: input.severity,
    status: 'investigating',
    source: options.source ?? 'operator',
    failedCheck: options.failedCheck ?? null,
    allTenants: !input.tenant_ids,
    tenantIds: input.tenant_ids ?? null,
    openedAt: options.openedAt ?? now,
    resolvedAt: null,
    openedBy: `${actor.type}:${actor.id}`,
    updatedAt: now,
  }
  const first: UpdateRow = { id: newId('iu'), incidentId: row.id, at: row.openedAt, status: 'investigating', message: input.description, createdBy: row.openedBy }
  const writes: SqlWrite[] = [db.insert(incidents).values(row).toSQL(), db.insert(incidentUpdates).values(first).toSQL()]
  if (input.tenant_ids) {
    writes.push({ sql: 'INSERT INTO incident_tenants (incident_id, tenant_id) SELECT ?, value FROM json_each(?)', params: [row.id, JSON.stringify(input.tenant_ids)] })
  }
  const job = incidentNoticeWrite(row, { kind: 'opened' }, `inc:${row.id}:opened`, now)
  writes.push(job.write)
  await audit(
    env,
    meta,
    {
      tenantId: null,
      actor,
      action: 'incident.open',
      target: { type: 'incident', id: row.id },
      outcome: 'success',
      details: { title: row.title, severity: row.severity, source: row.source, failed_check: row.failedCheck, tenant_ids: row.tenantIds, opened_at: row.openedAt },
    },
    writes,
  )
  if (options.defer) sendNoticesSoon(env, db, meta, [job.id], options.defer)
  await notifyOperators(env, meta, { event: 'incident.opened', severity: row.severity, summary: row.title, incident_id: row.id, ...(row.failedCheck ? { failed_check: row.failedCheck } : {}) })
  return toIncident(row, [first])
}

/**
 * Adds an update and/or resolves (RE-7): every step is mailed to the
 * affected tenants. `investigating` on a resolved incident is 409
 * `incident-resolved`; a PATCH that changes nothing changes nothing.
 */
export async function updateIncident(env: Env, db: Database, id: string, patch: IncidentPatch, actor: AuditActor, meta: RequestMeta, defer?: Defer) {
  const current = await findIncident(db, id)
  if (current.status === 'resolved' && patch.status === 'investigating') {
    throw Problem.conflict('A resolved incident stays resolved; open a new one for a recurrence.', 'incident-resolved')
  }
  const resolves = patch.status === 'resolved' && current.status !== 'resolved'
  if (!resolves && !patch.update) {
    return toIncident(current, (await updatesOfIncidents(db, [id])).get(id) ?? [])
  }
  const now = new Date().toISOString()
  const next: IncidentRow = { ...current, status: resolves ? 'resolved' : current.status, resolvedAt: resolves ? now : current.resolvedAt, updatedAt: now }
  const message = patch.update ?? 'Resolved.'
  const update: UpdateRow = { id: newId('iu'), incidentId: id, at: now, status: next.status, message, createdBy: `${actor.type}:${actor.id}` }
  const job = resolves
    ? incidentNoticeWrite(next, { kind: 'resolved', message }, `inc:${id}:resolved`, now)
    : incidentNoticeWrite(next, { kind: 'update', message }, `inc:${id}:update:${update.id}`, now)
  const result = await audit(
    env,
    meta,
    {
      tenantId: null,
      actor,
      action: resolves ? 'incident.resolve' : 'incident.update',
      target: { type: 'incident', id },
      outcome: 'success',
      details: { status: next.status, update: message, ...(resolves ? { resolved_at: now } : {}) },
    },
    [
      {
        sql: 'UPDATE incidents SET status = ?, resolved_at = ?, updated_at = ? WHERE id = ? AND status = ?',
        params: [next.status, next.resolvedAt, now, id, current.status],
      },
      db.insert(incidentUpdates).values(update).toSQL(),
      job.write,
    ],
    { guard: 0 },
  )
  if (!result.ok) throw Problem.editConflict('The incident changed meanwhile. Reload it and try again.')
  if (defer) sendNoticesSoon(env, db, meta, [job.id], defer)
  await notifyOperators(env, meta, { event: resolves ? 'incident.resolved' : 'incident.updated', severity: next.severity, summary: `${next.title}: ${message}`, incident_id: id })
  return toIncident(next, (await updatesOfIncidents(db, [id])).get(id) ?? [])
}

/** Resolves an incident if still open (the self-check's recovery); an operator may have resolved it already. */
export async function resolveIfOpen(env: Env, db: Database, id: string, message: string, actor: AuditActor, meta: RequestMeta) {
  const row = await db.select({ status: incidents.status }).from(incidents).where(eq(incidents.id, id)).get()
  if (!row || row.status === 'resolved') return false
  await updateIncident(env, db, id, { status: 'resolved', update: message }, actor, meta)
  return true
}
