import { desc, eq } from 'drizzle-orm'
import { database } from '../../db/client'
import { backups } from '../../db/schema'
import type { RequestMeta } from '../../lib/request-meta'
import { audit } from '../audit/audit'
import { backupKeys } from './sealed-object'

/** Generations kept per tenant (DM-8). */
export const KEEP_GENERATIONS = 14

type Row = typeof backups.$inferSelect

/** A generation that can be restored: complete and verified. */
function isGood(row: Row) {
  return row.status === 'complete' && row.verifyResult === 'ok'
}

/**
 * What retention removes from a tenant's generations, newest first: good
 * ones beyond the newest KEEP_GENERATIONS good ones, and generations that
 * are not good (failed, unverified, refused) and older than the oldest kept
 * good one. Runs that failed never count, so they never push a good
 * generation out; while fewer than KEEP_GENERATIONS good ones exist nothing
 * good is removed. Running generations are left alone.
 */
export function expiredGenerations(rows: Row[]): Row[] {
  const newestFirst = [...rows].sort((a, b) => (a.id < b.id ? 1 : -1))
  const good = newestFirst.filter(isGood)
  if (good.length < KEEP_GENERATIONS) return []
  const oldestKept = good[KEEP_GENERATIONS - 1]!
  return newestFirst.filter((row) => row.status !== 'running' && row.id < oldestKept.id)
}

async function deletePrefix(bucket: R2Bucket, prefix: string) {
  let cursor: string | undefined
  do {
    const listed = await bucket.list({ prefix, cursor })
    if (listed.objects.length) await bucket.delete(listed.objects.map((o) => o.key))
    cursor = listed.truncated ? listed.cursor : undefined
  } while (cursor)
}

/**
 * Applies retention to one tenant, then removes the file copies that no
 * remaining generation refers to. Called by the tenant's own snapshot
 * workflow after its snapshot, so it does not race that tenant's next copy.
 */
export async function applyRetention(env: Env, tenantId: string, meta: RequestMeta) {
  const db = database(env)
  const rows = await db.select().from(backups).where(eq(backups.tenantId, tenantId)).orderBy(desc(backups.id))
  const expired = expiredGenerations(rows)
  for (const row of expired) {
    await deletePrefix(env.BACKUPS, backupKeys.snapshotPrefix(tenantId, row.id))
    await audit(
      env,
      meta,
      {
        tenantId,
        actor: { type: 'system', id: 'backups' },
        action: 'backup.expired',
        target: { type: 'backup', id: row.id },
        outcome: 'success',
        details: { jst_date: row.jstDate, kind: row.kind, status: row.status, verify_result: row.verifyResult },
      },
      [{ sql: 'DELETE FROM backups WHERE id = ?', params: [row.id] }],
    )
  }
  const blobsRemoved = await collectBlobs(env, tenantId)
  return { expired: expired.length, blobs_removed: blobsRemoved }
}

/** Deletes the tenant's file copies no generation (kept or still running) refers to. */
async function collectBlobs(env: Env, tenantId: string) {
  const prefix = backupKeys.blobPrefix(tenantId)
  let removed = 0
  let cursor: string | undefined
  do {
    const listed = await env.BACKUPS.list({ prefix, cursor })
    const hashes = listed.objects.map((o) => o.key.slice(prefix.length))
    if (hashes.length) {
      const { results } = await env.DB.prepare('SELECT DISTINCT sha256 FROM backup_blobs WHERE tenant_id = ? AND sha256 IN (SELECT value FROM json_each(?))')
        .bind(tenantId, JSON.stringify(hashes))
        .all<{ sha256: string }>()
      const referenced = new Set(results.map((r) => r.sha256))
      const orphans = hashes.filter((h) => !referenced.has(h))
      if (orphans.length) await env.BACKUPS.delete(orphans.map((h) => prefix + h))
      removed += orphans.length
    }
    cursor = listed.truncated ? listed.cursor : undefined
  } while (cursor)
  return removed
}
