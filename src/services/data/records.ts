import { and, desc, eq, lt } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { records } from '../../db/schema'
import { decodeCursor, page } from '../../lib/cursor'
import { ID_PATTERN, newId } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import { isoNow } from '../../lib/time'
import type { RecordInput, TenantRecord } from '../../schemas/records'
import { audit, auditChange, type RequestMeta, type TenantCaller as Caller } from '../audit/audit'
import { quotaExceeded, recordBytes, reserveStorage } from './storage-quota'

type RecordRow = typeof records.$inferSelect

function toRecord(row: RecordRow): TenantRecord {
  return {
    id: row.id,
    collection: row.collection,
    data: JSON.parse(row.data),
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    created_by: row.createdBy,
    updated_by: row.updatedBy,
  }
}

/** Rows that come back raw from a batched `RETURNING *` use the column names. */
function fromReturned(row: Record<string, unknown>): TenantRecord {
  return toRecord({
    id: row.id as string,
    tenantId: row.tenant_id as string,
    collection: row.collection as string,
    data: row.data as string,
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
    createdBy: row.created_by as string,
    updatedBy: row.updated_by as string,
  })
}

const notFound = (id: string) => () => Problem.notFound('record', id)

/** Only ids of our own shape reach a query; the rest are simply not found. */
function assertId(id: string) {
  if (!ID_PATTERN.test(id) || !id.startsWith('rec_')) throw notFound(id)()
}


const bytes = (text: string) => new TextEncoder().encode(text).length

/**
 * Creates a record. Its bytes count against the plan's storage quota (EX-4)
 * in the same transaction; over the quota, nothing is stored (413).
 */
export async function createRecord(env: Env, db: Database, caller: Caller, input: RecordInput, meta: RequestMeta) {
  const now = isoNow()
  const row: RecordRow = {
    id: newId('rec'),
    tenantId: caller.tenantId,
    collection: input.collection,
    data: JSON.stringify(input.data),
    createdAt: now,
    updatedAt: now,
    createdBy: caller.actor.id!,
    updatedBy: caller.actor.id!,
  }
  const result = await audit(
    env,
    meta,
    {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: 'record.create',
      target: { type: 'record', id: row.id },
      outcome: 'success',
      details: { collection: row.collection },
    },
    [reserveStorage(caller.tenantId, { sql: '?', params: [bytes(row.data)] }), db.insert(records).values(row).toSQL()],
    { guard: 0 },
  )
  if (!result.ok) throw await quotaExceeded(db, caller.tenantId, bytes(row.data))
  return toRecord(row)
}

export async function listRecords(
  db: Database,
  tenantId: string,
  query: { collection?: string | undefined; limit: number; cursor?: string | undefined },
) {
  const after = decodeCursor(query.cursor, ID_PATTERN)
  const rows = await db
    .select()
    .from(records)
    .where(
      and(
        eq(records.tenantId, tenantId),
        query.collection ? eq(records.collection, query.collection) : undefined,
        after ? lt(records.id, after) : undefined,
      ),
    )
    .orderBy(desc(records.id))
    .limit(query.limit + 1)
  return page(rows.map(toRecord), query.limit, (r) => r.id)
}

export async function getRecord(db: Database, tenantId: string, id: string) {
  assertId(id)
  const row = await db
    .select()
    .from(records)
    .where(and(eq(records.tenantId, tenantId), eq(records.id, id)))
    .get()
  if (!row) throw notFound(id)()
  return toRecord(row)
}

/**
 * Replaces a record's collection and data. The storage count moves by the
 * size difference, computed in SQL from the row as it is at commit time.
 */
export async function updateRecord(
  env: Env,
  db: Database,
  caller: Caller,
  id: string,
  input: RecordInput,
  meta: RequestMeta,
) {
  assertId(id)
  const data = JSON.stringify(input.data)
  const old = recordBytes(caller.tenantId, id)
  const update = db
    .update(records)
    .set({ collection: input.collection, data, updatedAt: isoNow(), updatedBy: caller.actor.id! })
    .where(and(eq(records.tenantId, caller.tenantId), eq(records.id, id)))
    .returning()
    .toSQL()
  const result = await audit(
    env,
    meta,
    {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: 'record.update',
      target: { type: 'record', id },
      outcome: 'success',
      details: { collection: input.collection },
    },
    [reserveStorage(caller.tenantId, { sql: `? - ${old.sql}`, params: [bytes(data), ...old.params] }), update],
    { guard: [0, 1] },
  )
  if (!result.ok) {
    await getRecord(db, caller.tenantId, id) // gone meanwhile: 404
    throw await quotaExceeded(db, caller.tenantId, bytes(data))
  }
  return fromReturned(result.rows[1]![0] as Record<string, unknown>)
}

/** Hard delete (SE-36): the row is gone at once, its bytes leave the count; only the audit event remembers its id. */
export async function deleteRecord(env: Env, db: Database, caller: Caller, id: string, meta: RequestMeta) {
  assertId(id)
  const size = recordBytes(caller.tenantId, id)
  await auditChange(
    env,
    meta,
    {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: 'record.delete',
      target: { type: 'record', id },
      outcome: 'success',
    },
    [
      // The size is read from the row before it goes, in the same transaction.
      { sql: `UPDATE tenants SET storage_used_bytes = storage_used_bytes - ${size.sql} WHERE id = ?`, params: [...size.params, caller.tenantId] },
      db.delete(records).where(and(eq(records.tenantId, caller.tenantId), eq(records.id, id))).toSQL(),
    ],
    notFound(id),
    1,
  )
}
