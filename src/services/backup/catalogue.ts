import { and, desc, eq, lt } from 'drizzle-orm'
import { database, type Database } from '../../db/client'
import { backupBlobs, backups } from '../../db/schema'
import { decodeCursor, page } from '../../lib/cursor'
import { ID_PATTERN } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import { audit, type AuditActor } from '../audit/audit'
import { CorruptBackupError, readBlob, readSnapshot, type ReadHandlers } from './snapshot-reader'

/** The catalogue of generations: listing, one generation, verification (DM-3 evidence). */

export type BackupRow = typeof backups.$inferSelect

export function toBackup(row: BackupRow) {
  return {
    id: row.id,
    tenant_id: row.tenantId,
    jst_date: row.jstDate,
    kind: row.kind,
    status: row.status,
    key_id: row.keyId,
    format_version: row.formatVersion,
    schema_version: row.schemaVersion,
    row_counts: row.rowCounts ?? null,
    plaintext_bytes: row.plaintextBytes,
    ciphertext_bytes: row.ciphertextBytes,
    plaintext_sha256: row.plaintextSha256,
    ciphertext_sha256: row.ciphertextSha256,
    blob_count: row.blobCount,
    verified_at: row.verifiedAt,
    verify_result: row.verifyResult,
    error: row.error,
    created_at: row.createdAt,
    completed_at: row.completedAt,
  }
}

/** Generations newest first; `tenantId` scopes to one tenant (always, for a tenant's own view). */
export async function listBackups(db: Database, query: { tenantId?: string | undefined; limit: number; cursor?: string | undefined }) {
  const before = decodeCursor(query.cursor, ID_PATTERN)
  const rows = await db
    .select()
    .from(backups)
    .where(and(query.tenantId ? eq(backups.tenantId, query.tenantId) : undefined, before ? lt(backups.id, before) : undefined))
    .orderBy(desc(backups.id))
    .limit(query.limit + 1)
  return page(rows.map(toBackup), query.limit, (b) => b.id)
}

/** A tenant's newest complete generation (its last good backup), or null. */
export async function lastCompleteBackup(db: Database, tenantId: string) {
  const row = await db
    .select()
    .from(backups)
    .where(and(eq(backups.tenantId, tenantId), eq(backups.status, 'complete')))
    .orderBy(desc(backups.id))
    .limit(1)
    .get()
  return row ? toBackup(row) : null
}

export async function findBackup(db: Database, id: string) {
  const row = ID_PATTERN.test(id) && id.startsWith('bk_') ? await db.select().from(backups).where(eq(backups.id, id)).get() : undefined
  if (!row) throw Problem.notFound('backup', id)
  return row
}

/** Only a finished generation has something to verify or restore. */
export function notComplete(backup: BackupRow) {
  return Problem.conflict(`Backup ${backup.id} is ${backup.status}; only a complete generation can be verified or restored.`, 'backup-not-complete')
}

export function backupCorrupt(backupId: string, reason: string) {
  return new Problem({
    status: 422,
    type: 'backup-corrupt',
    title: 'Backup does not verify',
    detail: `Backup ${backupId} failed verification: ${reason}. Nothing was changed.`,
  })
}

/**
 * Decrypts the whole generation and every file copy it refers to, checking
 * each digest, size and row count against the catalogue (DM-3). Returns the
 * reason it fails, or null; never writes.
 */
export async function checkBackup(env: Env, backup: BackupRow, handlers: ReadHandlers = {}): Promise<string | null> {
  try {
    await readSnapshot(env, backup, handlers)
    const blobs = await env.DB.prepare('SELECT sha256 FROM backup_blobs WHERE backup_id = ? ORDER BY sha256').bind(backup.id).all<{ sha256: string }>()
    if (blobs.results.length !== backup.blobCount) throw new CorruptBackupError('the file copies do not match the catalogue')
    for (const { sha256 } of blobs.results) await readBlob(env, backup.tenantId, sha256)
    return null
  } catch (error) {
    if (error instanceof CorruptBackupError) return error.message
    throw error
  }
}

/** Verifies a generation and records the result on it (and in the tenant's audit trail). */
export async function verifyBackup(env: Env, backupId: string, actor: AuditActor, meta: RequestMeta) {
  const db = database(env)
  const backup = await findBackup(db, backupId)
  if (backup.status !== 'complete') throw notComplete(backup)
  const failure = await checkBackup(env, backup)
  const verifiedAt = isoNow()
  const result = failure ?? 'ok'
  await audit(
    env,
    meta,
    {
      tenantId: backup.tenantId,
      actor,
      action: 'backup.verified',
      target: { type: 'backup', id: backup.id },
      outcome: failure ? 'failure' : 'success',
      details: { result, jst_date: backup.jstDate },
    },
    [db.update(backups).set({ verifiedAt, verifyResult: result }).where(eq(backups.id, backup.id)).toSQL()],
  )
  return { ...toBackup({ ...backup, verifiedAt, verifyResult: result }), ok: failure === null }
}

/** The file copies a generation refers to. */
export async function blobsOf(db: Database, backupId: string) {
  return (await db.select({ sha256: backupBlobs.sha256 }).from(backupBlobs).where(eq(backupBlobs.backupId, backupId))).map((r) => r.sha256)
}
