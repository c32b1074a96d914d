import { and, desc, eq, lt, sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { files, tenants } from '../../db/schema'
import { decodeCursor, page } from '../../lib/cursor'
import { toHex } from '../../lib/encoding'
import { ID_PATTERN, newId } from '../../lib/ids'
import { FILE_ID_PATTERN } from '../../schemas/files'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import { audit, auditChange, type TenantCaller as Caller } from '../audit/audit'
import { quotaExceeded, reserveStorage, storageOf } from './storage-quota'
import { auditExtraction } from '../alerts/detectors'

/** Largest single upload. Bodies stream to R2; this bounds one request's time and memory. */
export const FILE_MAX_BYTES = 25 * 1024 * 1024

type FileRow = typeof files.$inferSelect

export function toFile(row: FileRow) {
  return {
    id: row.id,
    name: row.name,
    content_type: row.contentType,
    size_bytes: row.sizeBytes,
    sha256: row.sha256,
    created_at: row.createdAt,
    created_by: row.createdBy,
  }
}

/** Every object of a tenant lives under its own prefix. */
function objectKey(tenantId: string, fileId: string) {
  return `tenants/${tenantId}/files/${fileId}`
}

/**
 * Stores a file under `name`, replacing an earlier file of that name (EX-4).
 * The plan quota is checked before anything is stored, and again, atomically,
 * in the transaction that records the file and adds its size to the
 * tenant's exact storage count; a lost race removes the object again.
 */
export async function putFile(
  env: Env,
  db: Database,
  caller: Caller,
  upload: { name: string; body: ReadableStream<Uint8Array> | null; length: number | null; contentType: string },
  meta: RequestMeta,
) {
  if (upload.length === null) {
    throw new Problem({ status: 411, type: 'length-required', title: 'Length required', detail: 'Send the file with a Content-Length header.' })
  }
  if (upload.length > FILE_MAX_BYTES) throw Problem.payloadTooLarge(FILE_MAX_BYTES)
  const previous = await db.select().from(files).where(and(eq(files.tenantId, caller.tenantId), eq(files.name, upload.name))).get()
  const delta = upload.length - (previous?.sizeBytes ?? 0)
  const { used, quota } = await storageOf(db, caller.tenantId)
  if (used + delta > quota) throw await quotaExceeded(db, caller.tenantId, upload.length)

  const id = newId('fil')
  const key = objectKey(caller.tenantId, id)
  const [toStore, toHash] = (upload.body ?? new Blob([]).stream()).tee()
  const digest = new crypto.DigestStream('SHA-256')
  const hashed = toHash.pipeTo(digest)
  try {
    await env.FILES.put(key, toStore.pipeThrough(new FixedLengthStream(upload.length)), {
      httpMetadata: { contentType: upload.contentType },
      customMetadata: { tenant_id: caller.tenantId, file_id: id },
    })
    await hashed
  } catch {
    await env.FILES.delete(key)
    throw Problem.badRequest(`The body did not match its Content-Length of ${upload.length} bytes.`, 'length-mismatch')
  }
  const row: FileRow = {
    id,
    tenantId: caller.tenantId,
    name: upload.name,
    contentType: upload.contentType,
    sizeBytes: upload.length,
    sha256: toHex(await digest.digest),
    createdAt: isoNow(),
    createdBy: caller.actor.id!,
  }
  const writes = [
    reserveStorage(caller.tenantId, { sql: '?', params: [delta] }),
    ...(previous ? [db.delete(files).where(and(eq(files.tenantId, caller.tenantId), eq(files.id, previous.id))).toSQL()] : []),
    db.insert(files).values(row).toSQL(),
  ]
  const result = await audit(
    env,
    meta,
    {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: previous ? 'file.replace' : 'file.upload',
      target: { type: 'file', id },
      outcome: 'success',
      details: { name: row.name, size_bytes: row.sizeBytes, sha256: row.sha256, ...(previous ? { replaced: previous.id } : {}) },
    },
    writes,
    // The quota holds, and the file being replaced is still the one the size difference was computed from.
    { guard: previous ? [0, 1] : 0 },
  ).catch(async (error) => {
    // Nothing was recorded, so nothing may stay stored.
    await env.FILES.delete(key)
    if (String(error).includes('UNIQUE constraint failed: files.tenant_id, files.name')) {
      throw Problem.conflict(`Another upload of ${JSON.stringify(upload.name)} finished first; try again.`)
    }
    throw error
  })
  if (!result.ok) {
    await env.FILES.delete(key)
    if (previous && !(await db.select({ id: files.id }).from(files).where(eq(files.id, previous.id)).get())) {
      throw Problem.conflict(`${JSON.stringify(upload.name)} was deleted or replaced while this upload ran; upload again.`)
    }
    throw await quotaExceeded(db, caller.tenantId, upload.length)
  }
  if (previous) await env.FILES.delete(objectKey(caller.tenantId, previous.id))
  return { file: toFile(row), replaced: previous !== undefined }
}

export async function listFiles(db: Database, tenantId: string, limit: number, cursor: string | undefined) {
  const after = decodeCursor(cursor, ID_PATTERN)
  const rows = await db
    .select()
    .from(files)
    .where(and(eq(files.tenantId, tenantId), after ? lt(files.id, after) : undefined))
    .orderBy(desc(files.id))
    .limit(limit + 1)
  return page(rows.map(toFile), limit, (f) => f.id)
}

/** A file's metadata (HEAD of a download): reveals no content, so it is not a data extraction. */
export async function fileInfo(db: Database, tenantId: string, id: string) {
  return toFile(await findFile(db, tenantId, id))
}

/** Only ids of a file's shape reach a query; anything else, of any length, is simply not found. */
async function findFile(db: Database, tenantId: string, id: string): Promise<FileRow> {
  const row = FILE_ID_PATTERN.test(id) ? await db.select().from(files).where(and(eq(files.tenantId, tenantId), eq(files.id, id))).get() : undefined
  if (!row) throw Problem.notFound('file', id)
  return row
}

/**
 * Streams a file's bytes. A download takes data out of the service, so it
 * is audited as a data extraction before the first byte leaves (GE-5), and
 * counted towards the account's download burst alert.
 */
export async function downloadFile(env: Env, db: Database, caller: Caller, id: string, meta: RequestMeta) {
  const row = await findFile(db, caller.tenantId, id)
  const object = await env.FILES.get(objectKey(caller.tenantId, row.id))
  if (!object) throw Problem.notFound('file', id)
  await auditExtraction(env, meta, {
    tenantId: caller.tenantId,
    actor: caller.actor,
    action: 'file.download',
    target: { type: 'file', id: row.id },
    outcome: 'success',
    details: { name: row.name, size_bytes: row.sizeBytes },
  })
  return { file: toFile(row), body: object.body }
}

/**
 * Hard delete (SE-36): the object is removed at once and its bytes leave the
 * tenant's count. The bytes go first: if recording the deletion then fails,
 * what is left is a row without content (a retry finishes it), never
 * content without a row.
 */
export async function deleteFile(env: Env, db: Database, caller: Caller, id: string, meta: RequestMeta) {
  const row = await findFile(db, caller.tenantId, id)
  await env.FILES.delete(objectKey(caller.tenantId, row.id))
  await auditChange(
    env,
    meta,
    {
      tenantId: caller.tenantId,
      actor: caller.actor,
      action: 'file.delete',
      target: { type: 'file', id: row.id },
      outcome: 'success',
      details: { name: row.name, size_bytes: row.sizeBytes },
    },
    [
      db.delete(files).where(and(eq(files.tenantId, caller.tenantId), eq(files.id, row.id))).toSQL(),
      db
        .update(tenants)
        .set({ storageUsedBytes: sql`${tenants.storageUsedBytes} - ${row.sizeBytes}` })
        .where(eq(tenants.id, caller.tenantId))
        .toSQL(),
    ],
    () => Problem.notFound('file', id),
  )
}
