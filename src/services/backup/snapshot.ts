import { and, eq } from 'drizzle-orm'
import { database } from '../../db/client'
import { backups } from '../../db/schema'
import { ID_PATTERN, newId } from '../../lib/ids'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import { audit } from '../audit/audit'
import { SealedObjectWriter, backupKeys, identities } from './sealed-object'
import { tenantTables, type TenantTable } from './tenant-tables'

/**
 * One snapshot of one tenant (DM-1, DM-8): every row of every tenant table,
 * streamed as NDJSON into one sealed object, the tenant's file objects copied
 * once each by content, then the manifest, last.
 *
 * Consistency. D1 has no read transaction that spans several round trips,
 * and one statement is atomic. Every table is read in keyset pages of
 * PAGE_ROWS (each page one consistent slice). Between pages other writes can
 * commit, so the snapshot also reads the tenant's audit-chain head before
 * the first page and again after the last: every change to a tenant's data
 * commits in the same transaction as its audit event (services/audit), so an
 * unchanged head proves no audited change landed in between, and the whole
 * read equals one consistent state, the one at that head (recorded as
 * `audit_seq`). A changed head restarts the read (up to READ_ATTEMPTS), then
 * the step fails and the workflow retries it later. Not covered: counters no
 * audit event records (tenant_usage flushes, alert counters, outbox delivery
 * marks), which the restore keeps as they are anyway (KEPT_ON_RESTORE).
 */

export const SNAPSHOT_FORMAT_VERSION = 1
const PAGE_ROWS = 1000
const READ_ATTEMPTS = 3
/** Plaintext is handed to the sealer in pieces of about this size. */
const FLUSH_CHARS = 256 * 1024

export type SnapshotKind = 'daily' | 'safety'
export type SnapshotRequest = { tenantId: string; jstDate: string; kind: SnapshotKind }
export type SnapshotOutcome = { backupId: string; status: 'complete'; skipped: boolean }

/** What the manifest (plaintext, no tenant data) says about a generation. */
export type Manifest = {
  format: 'mamori-snapshot'
  format_version: number
  segment_format: 'MSA1'
  backup_id: string
  tenant_id: string
  kind: SnapshotKind
  jst_date: string
  schema_version: string
  audit_seq: number
  key_id: string
  row_counts: Record<string, number>
  plaintext_bytes: number
  ciphertext_bytes: number
  plaintext_sha256: string
  ciphertext_sha256: string
  blob_count: number
  created_at: string
  completed_at: string
}

export class SnapshotChangedError extends Error {
  constructor() {
    super('the tenant kept changing while it was read')
    this.name = 'SnapshotChangedError'
  }
}

/** The newest applied migration: the schema the rows belong to. */
export async function schemaVersion(env: Env): Promise<string> {
  const row = await env.DB.prepare('SELECT name FROM d1_migrations ORDER BY id DESC LIMIT 1').first<{ name: string }>()
  return (row?.name ?? 'unknown').replace(/\.sql$/, '')
}

function auditHead(env: Env, tenantId: string) {
  return env.DB.prepare('SELECT coalesce(max(seq), 0) AS seq FROM audit_events WHERE chain = ?').bind(tenantId)
}

function pageQuery(env: Env, table: TenantTable, tenantId: string, after: unknown) {
  const key = table.pageKey === 'rowid' ? 'rowid' : `"${table.pageKey}"`
  const cols = table.columns.map((c) => `"${c}"`).join(', ')
  const scope = table.scope === 'id' ? '"id" = ?' : '"tenant_id" = ?'
  const sql = `SELECT ${key}, ${cols} FROM "${table.name}" WHERE ${scope}${after === null ? '' : ` AND ${key} > ?`} ORDER BY ${key} LIMIT ?`
  return env.DB.prepare(sql).bind(...(after === null ? [tenantId, PAGE_ROWS] : [tenantId, after, PAGE_ROWS]))
}

/**
 * The ID kind (the prefix before `_`) of each table's rows, in one query:
 * recorded in the header, so a restore into a new tenant knows which IDs to
 * re-key before it reaches the tables those IDs belong to, and can write rows
 * in the same pass that decrypts them. Only kinds, never an ID. A hint: the
 * restore still checks every table's first row against it.
 */
async function idKinds(env: Env, tenantId: string): Promise<Record<string, string>> {
  const withId = tenantTables().filter((t) => t.columns.includes('id'))
  const pairs = withId.map((t) => {
    const scope = t.scope === 'id' ? '"id" = ?1' : '"tenant_id" = ?1'
    return `'${t.name}', (SELECT "id" FROM "${t.name}" WHERE ${scope} LIMIT 1)`
  })
  const row = await env.DB.prepare(`SELECT json_object(${pairs.join(', ')}) AS ids`).bind(tenantId).first<{ ids: string }>()
  const kinds: Record<string, string> = {}
  for (const [table, id] of Object.entries(JSON.parse(row!.ids) as Record<string, unknown>)) {
    if (typeof id === 'string' && ID_PATTERN.test(id)) kinds[table] = id.slice(0, id.indexOf('_'))
  }
  return kinds
}

/**
 * Reads every tenant row, table by table, a page at a time (each page's
 * rows as arrays in `columns` order), and returns the audit head the read is
 * consistent with; throws SnapshotChangedError when the head moved meanwhile.
 */
async function readTenant(
  env: Env,
  tenantId: string,
  sink: { onTable(t: TenantTable): Promise<void>; onPage(t: TenantTable, rows: unknown[][]): Promise<void>; onEnd(t: TenantTable, rows: number): Promise<void> },
) {
  const headBefore = (await auditHead(env, tenantId).first<{ seq: number }>())!.seq
  for (const table of tenantTables()) {
    await sink.onTable(table)
    let count = 0
    let next: Promise<unknown[][]> | null = pageQuery(env, table, tenantId, null).raw()
    while (next) {
      const page: unknown[][] = await next
      // The next page is asked for before this one is encoded and sealed, so D1 and the sealing overlap.
      next = page.length === PAGE_ROWS ? pageQuery(env, table, tenantId, page.at(-1)![0]).raw() : null
      // Observed at the top of the loop; never left unhandled if the sink fails meanwhile.
      next?.catch(() => undefined)
      if (!page.length) break
      count += page.length
      await sink.onPage(
        table,
        page.map((row) => row.slice(1)),
      )
    }
    await sink.onEnd(table, count)
  }
  const headAfter = (await auditHead(env, tenantId).first<{ seq: number }>())!.seq
  if (headAfter !== headBefore) throw new SnapshotChangedError()
  return headAfter
}

/** The tenant's generation for this JST date, created as `running` if there is none. */
async function claimGeneration(env: Env, request: SnapshotRequest) {
  const db = database(env)
  if (request.kind === 'daily') {
    const existing = await db
      .select()
      .from(backups)
      .where(and(eq(backups.tenantId, request.tenantId), eq(backups.jstDate, request.jstDate), eq(backups.kind, 'daily')))
      .get()
    if (existing) return existing
  }
  const row: typeof backups.$inferInsert = {
    id: newId('bk'),
    tenantId: request.tenantId,
    jstDate: request.jstDate,
    kind: request.kind,
    status: 'running',
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    createdAt: isoNow(),
  }
  // Two runs racing for the same date: the unique index lets one row exist; both then use it.
  await env.DB.prepare(
    "INSERT INTO backups (id, tenant_id, jst_date, kind, status, format_version, attempts, created_at) VALUES (?, ?, ?, ?, 'running', ?, 0, ?) ON CONFLICT DO NOTHING",
  )
    .bind(row.id, row.tenantId, row.jstDate, row.kind, row.formatVersion, row.createdAt)
    .run()
  if (request.kind === 'safety') return (await db.select().from(backups).where(eq(backups.id, row.id!)).get())!
  return (await db
    .select()
    .from(backups)
    .where(and(eq(backups.tenantId, request.tenantId), eq(backups.jstDate, request.jstDate), eq(backups.kind, 'daily')))
    .get())!
}

/** Removes what an earlier, interrupted attempt of this generation left (it never got a manifest). */
async function clearAttempt(env: Env, tenantId: string, backupId: string) {
  const prefix = backupKeys.snapshotPrefix(tenantId, backupId)
  let cursor: string | undefined
  do {
    const listed = await env.BACKUPS.list({ prefix, cursor })
    if (listed.objects.length) await env.BACKUPS.delete(listed.objects.map((o) => o.key))
    cursor = listed.truncated ? listed.cursor : undefined
  } while (cursor)
  await env.DB.prepare('DELETE FROM backup_blobs WHERE backup_id = ?').bind(backupId).run()
}

/** Copies one file into BACKUPS, sealed, unless a copy of that content is there already. */
async function copyBlob(env: Env, tenantId: string, file: { id: string; sha256: string }) {
  const key = backupKeys.blob(tenantId, file.sha256)
  if (await env.BACKUPS.head(key)) return false
  const source = await env.FILES.get(`tenants/${tenantId}/files/${file.id}`)
  if (!source) throw new Error(`file object missing for ${file.id}`)
  const writer = new SealedObjectWriter(env, tenantId, key, identities.blob(tenantId, file.sha256))
  try {
    const reader = source.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      await writer.write(value)
    }
    const summary = await writer.close()
    if (summary.plaintextSha256 !== file.sha256) {
      await env.BACKUPS.delete(key)
      throw new Error(`file ${file.id} does not match its recorded SHA-256`)
    }
    return true
  } catch (error) {
    await writer.abort()
    throw error
  }
}

/**
 * Takes (or, for a daily generation that is already complete, skips) one
 * snapshot. Safe to run again after any failure: an attempt that did not
 * finish left no manifest and its objects are cleared first.
 */
export async function takeSnapshot(env: Env, request: SnapshotRequest, meta: RequestMeta): Promise<SnapshotOutcome> {
  const generation = await claimGeneration(env, request)
  if (generation.status === 'complete') return { backupId: generation.id, status: 'complete', skipped: true }
  const { tenantId } = request
  const backupId = generation.id
  await env.DB.prepare("UPDATE backups SET status = 'running', attempts = attempts + 1, error = NULL WHERE id = ?").bind(backupId).run()
  await clearAttempt(env, tenantId, backupId)
  const version = await schemaVersion(env)

  for (let attempt = 1; ; attempt++) {
    const writer = new SealedObjectWriter(env, tenantId, backupKeys.data(tenantId, backupId), identities.snapshot(tenantId, backupId))
    const encoder = new TextEncoder()
    let text = ''
    const put = async (line: unknown) => {
      text += `${JSON.stringify(line)}\n`
      if (text.length >= FLUSH_CHARS) {
        await writer.write(encoder.encode(text))
        text = ''
      }
    }
    const counts: Record<string, number> = {}
    const files: { id: string; sha256: string }[] = []
    try {
      await put({
        format: 'mamori-snapshot',
        format_version: SNAPSHOT_FORMAT_VERSION,
        backup_id: backupId,
        tenant_id: tenantId,
        schema_version: version,
        id_kinds: await idKinds(env, tenantId),
      })
      const seq = await readTenant(env, tenantId, {
        onTable: (t) => put({ table: t.name, columns: t.columns }),
        onPage: async (t, rows) => {
          if (t.name === 'files') {
            const id = t.columns.indexOf('id')
            const sha = t.columns.indexOf('sha256')
            for (const row of rows) files.push({ id: String(row[id]), sha256: String(row[sha]) })
          }
          for (const row of rows) text += `${JSON.stringify(row)}\n`
          if (text.length >= FLUSH_CHARS) {
            await writer.write(encoder.encode(text))
            text = ''
          }
        },
        onEnd: async (t, rows) => {
          counts[t.name] = rows
          await put({ end: t.name, rows })
        },
      })
      await put({ end: true, tables: Object.keys(counts).length, audit_seq: seq })
      if (text) await writer.write(encoder.encode(text))
      const summary = await writer.close()

      // References first, copies second: retention never sees a copy this run needs as unreferenced.
      const hashes = [...new Set(files.map((f) => f.sha256))]
      for (let i = 0; i < hashes.length; i += 500) {
        await env.DB.prepare('INSERT OR IGNORE INTO backup_blobs (backup_id, tenant_id, sha256) SELECT ?, ?, value FROM json_each(?)')
          .bind(backupId, tenantId, JSON.stringify(hashes.slice(i, i + 500)))
          .run()
      }
      const copied = new Set<string>()
      for (const file of files) {
        if (copied.has(file.sha256)) continue
        await copyBlob(env, tenantId, file)
        copied.add(file.sha256)
      }

      const completedAt = isoNow()
      const manifest: Manifest = {
        format: 'mamori-snapshot',
        format_version: SNAPSHOT_FORMAT_VERSION,
        segment_format: 'MSA1',
        backup_id: backupId,
        tenant_id: tenantId,
        kind: request.kind,
        jst_date: request.jstDate,
        schema_version: version,
        audit_seq: seq,
        key_id: summary.keyId,
        row_counts: counts,
        plaintext_bytes: summary.plaintextBytes,
        ciphertext_bytes: summary.ciphertextBytes,
        plaintext_sha256: summary.plaintextSha256,
        ciphertext_sha256: summary.ciphertextSha256,
        blob_count: hashes.length,
        created_at: generation.createdAt,
        completed_at: completedAt,
      }
      // Last: only a finished snapshot has a manifest.
      await env.BACKUPS.put(backupKeys.manifest(tenantId, backupId), JSON.stringify(manifest), { httpMetadata: { contentType: 'application/json' } })
      const db = database(env)
      await audit(
        env,
        meta,
        {
          tenantId,
          actor: { type: 'system', id: 'backups' },
          action: 'backup.created',
          target: { type: 'backup', id: backupId },
          outcome: 'success',
          details: { kind: request.kind, jst_date: request.jstDate, key_id: summary.keyId, row_counts: counts, blob_count: hashes.length, ciphertext_sha256: summary.ciphertextSha256 },
        },
        [
          db
            .update(backups)
            .set({
              status: 'complete',
              keyId: summary.keyId,
              schemaVersion: version,
              rowCounts: counts,
              plaintextBytes: summary.plaintextBytes,
              ciphertextBytes: summary.ciphertextBytes,
              plaintextSha256: summary.plaintextSha256,
              ciphertextSha256: summary.ciphertextSha256,
              blobCount: hashes.length,
              auditSeq: seq,
              completedAt,
              error: null,
            })
            .where(eq(backups.id, backupId))
            .toSQL(),
        ],
      )
      return { backupId, status: 'complete', skipped: false }
    } catch (error) {
      await writer.abort()
      if (error instanceof SnapshotChangedError && attempt < READ_ATTEMPTS) {
        await clearAttempt(env, tenantId, backupId)
        continue
      }
      await env.DB.prepare('UPDATE backups SET error = ? WHERE id = ?').bind(String(error).slice(0, 500), backupId).run()
      throw error
    }
  }
}
