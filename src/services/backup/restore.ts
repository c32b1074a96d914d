import { eq } from 'drizzle-orm'
import { database } from '../../db/client'
import { backups, tenants } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { newId } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow, jstDate } from '../../lib/time'
import { audit, type AuditActor } from '../audit/audit'
import { usageRows } from '../tenancy/tenants'
import { backupCorrupt, checkBackup, findBackup, notComplete, type BackupRow } from './catalogue'
import { schemaVersion, takeSnapshot } from './snapshot'
import { CorruptBackupError, readBlob, readSnapshot, type TableSection } from './snapshot-reader'
import { CLONE_FILTERS, TENANT_ROW_KEPT, tenantTables } from './tenant-tables'

/**
 * Restores a generation, in place or into a new tenant (the disaster-recovery
 * drill, AV-6).
 *
 * One pass: the generation is decrypted and authenticated segment by
 * segment while its rows are written somewhere the tenant cannot see:
 * staging tables (`_restore_<id>_<table>`, which the app never reads) for an
 * in-place restore, the real tables under a new tenant row that stays
 * `suspended` (nobody can sign in) for a new slug. Each file the generation
 * holds goes back into FILES under its own ID (an object no live row refers
 * to yet), checked against its SHA-256 before it is written. Only after the last
 * segment, the digests, the row counts and every file check have passed does
 * one D1 batch (one transaction) switch: in place, delete the tenant's
 * current rows and copy the staged ones in; for a new tenant, make it
 * active. That batch records `backup.restored`. A tampered, truncated,
 * reordered or wrong-key generation fails before the switch, and what the
 * restore wrote is removed again (staging tables dropped, the suspended
 * tenant deleted with its rows, the file objects it put deleted), so the
 * tenant sees the state before or the state after, never a mix. File
 * objects the restored state no longer refers to are deleted after the
 * switch. The switch is one transaction, so its size is bounded by what D1
 * commits in one batch (docs/backups.md).
 *
 * In place, a safety snapshot of the current state is taken and verified
 * after staging and before the switch, so a restore can itself be undone
 * (and a refused one leaves none). Tables in KEPT_ON_RESTORE keep their
 * current rows (the audit trail above all).
 */

const STAGE_CHUNK_CHARS = 512 * 1024
const STAGE_BATCH = 8
const ID_SHAPE = /^((?:user|operator|system):)?([a-z]{2,4})_([0-9a-hjkmnp-tv-z]{10})([0-9a-hjkmnp-tv-z]{16})$/
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'

export type RestoreInput = { target_slug?: string | undefined }

function stagingName(restoreId: string, table: string) {
  return `_restore_${restoreId}_${table}`
}

const HALF = 2 ** 40

/** Eight base-32 digits (40 bits) as a number, and back. */
function decode40(digits: string) {
  let n = 0
  for (const d of digits) n = n * 32 + ALPHABET.indexOf(d)
  return n
}
function encode40(n: number) {
  let out = ''
  for (let i = 0; i < 8; i++) {
    out = ALPHABET[n % 32] + out
    n = Math.floor(n / 32)
  }
  return out
}

/** A random 80-bit offset for one restore, as two 40-bit halves. */
export function randomShift(): [number, number] {
  const b = crypto.getRandomValues(new Uint8Array(10))
  const half = (at: number) => b.subarray(at, at + 5).reduce((n, byte) => n * 256 + byte, 0)
  return [half(0), half(5) || 1]
}

/**
 * Re-keys a row for the new tenant without a table of every ID: an ID of a
 * kind the tenant's own rows have (its prefix) gets a new random part, its
 * old one plus this restore's secret 80-bit offset (mod 2^80), the same
 * wherever it appears, so references between rows (`account_id`,
 * `created_by: user:<id>`) still meet. IDs of other kinds (operators,
 * plans, incidents) stay as they are. The time part stays, so IDs still sort
 * by creation time.
 *
 * Why an offset rather than a hash: it is a bijection (no two IDs meet), and
 * it keeps the order of IDs that share a time part (up to one wrap-around),
 * so the rows, which the snapshot holds in key order, are appended to the
 * primary-key and tenant indexes instead of landing at random places in
 * them: random keys made SQLite rewrite most index pages at every commit
 * (8 s instead of 1 s for 100,000 records, docs/backups.md). The offset
 * comes from crypto.getRandomValues and is kept nowhere.
 */
export function remapper(source: string, target: string, shift: [number, number], prefixes: Set<string>, passed: Set<string> | null) {
  return (value: unknown) => {
    if (typeof value !== 'string') return value
    if (value === source) return target
    const m = ID_SHAPE.exec(value)
    if (!m) return value
    if (!prefixes.has(m[2]!)) {
      passed?.add(m[2]!)
      return value
    }
    const rand = m[4]!
    let lo = decode40(rand.slice(8)) + shift[1]
    const carry = lo >= HALF ? 1 : 0
    lo -= carry * HALF
    const hi = (decode40(rand.slice(0, 8)) + shift[0] + carry) % HALF
    return `${m[1] ?? ''}${m[2]}_${m[3]}${encode40(hi)}${encode40(lo)}`
  }
}

type Plan = { mode: 'in_place' | 'new_tenant'; tenantId: string; slug: string | null; shift: [number, number] }

/** Writes staged rows in chunks of json_each inserts, a few statements per batch. */
class Stager {
  private pending: SqlWrite[] = []
  private rows: unknown[][] = []
  private chars = 0
  private section: TableSection | null = null
  /** `direct`: rows go straight into the real tables (a new tenant, suspended until the switch); else into staging tables. */
  constructor(
    private readonly env: Env,
    private readonly restoreId: string,
    private readonly direct: boolean,
  ) {}

  private target(table: string) {
    return this.direct ? table : stagingName(this.restoreId, table)
  }

  async begin(section: TableSection) {
    await this.flushRows()
    await this.send()
    this.section = section
    if (this.direct) return
    const name = stagingName(this.restoreId, section.table)
    await this.env.DB.prepare(`CREATE TABLE "${name}" AS SELECT ${section.columns.map((c) => `"${c}"`).join(', ')} FROM "${section.table}" WHERE 0`).run()
  }

  async add(row: unknown[]) {
    this.rows.push(row)
    this.chars += 64
    for (const v of row) this.chars += typeof v === 'string' ? v.length : 8
    if (this.chars >= STAGE_CHUNK_CHARS) await this.flushRows()
  }

  private async flushRows() {
    if (this.rows.length && this.section) {
      const cols = this.section.columns
      this.pending.push({
        sql: `INSERT INTO "${this.target(this.section.table)}" (${cols.map((c) => `"${c}"`).join(', ')}) SELECT ${cols.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ')} FROM json_each(?)`,
        params: [JSON.stringify(this.rows)],
      })
      this.rows = []
      this.chars = 0
    }
    if (this.pending.length >= STAGE_BATCH) await this.send()
  }

  /** One batch in flight while the next is decrypted and built: D1's work overlaps the reading. */
  private inFlight: Promise<unknown> = Promise.resolve()

  private async send() {
    if (!this.pending.length) return
    const statements = this.pending.map((w) => this.env.DB.prepare(w.sql).bind(...w.params))
    this.pending = []
    await this.inFlight
    this.inFlight = this.env.DB.batch(statements)
    // Observed by the next send() or end(); never left unhandled meanwhile.
    this.inFlight.catch(() => undefined)
  }

  async end() {
    await this.flushRows()
    await this.send()
    await this.inFlight
  }

  /** Waits for whatever is in flight, failed or not (before cleaning up after a failure). */
  async settle() {
    await this.inFlight.catch(() => undefined)
  }
}

async function dropStaging(env: Env, restoreId: string) {
  // `_` is a LIKE wildcard, hence the escape; the prefix check below keeps other restores' tables anyway.
  const { results } = await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '\\'")
    .bind(`\\_restore\\_${restoreId}\\_%`)
    .all<{ name: string }>()
  const mine = results.filter((r) => r.name.startsWith(`_restore_${restoreId}_`))
  if (mine.length) await env.DB.batch(mine.map((r) => env.DB.prepare(`DROP TABLE IF EXISTS "${r.name}"`)))
}

/** Puts a generation's file back into FILES at `key` unless it is there already; false when it was. */
async function restoreFileObject(env: Env, sourceTenant: string, key: string, file: { sha256: string; size: number }) {
  if (await env.FILES.head(key)) return false
  const { readable, writable } = new FixedLengthStream(file.size)
  const putting = env.FILES.put(key, readable)
  const writer = writable.getWriter()
  try {
    await readBlob(env, sourceTenant, file.sha256, (piece) => writer.write(piece))
    await writer.close()
    await putting
  } catch (error) {
    await writer.abort(error).catch(() => undefined)
    await putting.catch(() => undefined)
    await env.FILES.delete(key)
    throw error
  }
  return true
}

/** A row refers to an ID of a kind whose table comes later in the generation: the lazy re-keying missed it. */
class ForwardReference extends Error {}

type StageResult = { staged: TableSection[]; fileRows: { fileId: string; sha256: string; size: number }[] }

/**
 * One pass over the generation: every segment is decrypted and authenticated
 * and every line checked (readSnapshot) while its rows go into the stager, so
 * the data is read once. Nothing the tenant sees is written: staging tables,
 * or the rows of a new tenant that stays suspended. readSnapshot throws at
 * the first segment that does not open, and compares the digests and row
 * counts after the last; only then does the caller switch.
 *
 * A new tenant's IDs are re-keyed by kind (remapper). The kinds are learnt
 * from the first row of each table as the pass reaches it; `known` skips the
 * learning (the second pass after a ForwardReference). A snapshot records the
 * kinds in its header, so the learning only has to confirm them.
 */
async function stageGeneration(env: Env, backup: BackupRow, plan: Plan, restoreId: string, known: Set<string> | null): Promise<StageResult> {
  const stager = new Stager(env, restoreId, plan.mode === 'new_tenant')
  const restored = new Map(tenantTables().map((t) => [t.name, t]))
  const prefixes = known ?? new Set<string>()
  // ID kinds left as they were because no table had shown them yet: if one turns up later, the pass is redone.
  const passed = new Set<string>()
  const remap = plan.mode === 'new_tenant' ? remapper(backup.tenantId, plan.tenantId, plan.shift, prefixes, known ? null : passed) : null
  const now = isoNow()
  const staged: TableSection[] = []
  const fileRows: StageResult['fileRows'] = []
  let current: TableSection | null = null
  try {
    await readSnapshot(env, backup, {
      onTable: async (section) => {
        const filter = CLONE_FILTERS[section.table]
        current = restored.get(section.table)?.restored && !(plan.mode === 'new_tenant' && filter?.skipAll) ? section : null
        if (!current) return
        staged.push(section)
        await stager.begin(section)
      },
      onHeader: (header) => {
        // Kinds recorded by the snapshot (older generations have none: then they are learnt table by table).
        if (!remap || known || typeof header.id_kinds !== 'object' || header.id_kinds === null) return
        for (const [table, kind] of Object.entries(header.id_kinds as Record<string, unknown>)) {
          if (typeof kind === 'string' && restored.get(table)?.restored) prefixes.add(kind)
        }
      },
      onFirstRow: (section, row) => {
        if (!remap || known || !restored.get(section.table)?.restored) return
        const at = section.columns.indexOf('id')
        const m = at >= 0 && typeof row[at] === 'string' ? ID_SHAPE.exec(row[at] as string) : null
        if (!m) return
        if (passed.has(m[2]!)) throw new ForwardReference(m[2])
        prefixes.add(m[2]!)
      },
      onRow: async (section, row) => {
        if (current !== section) return
        if (remap) {
          const filter = CLONE_FILTERS[section.table]
          if (filter?.keep && !filter.keep(Object.fromEntries(section.columns.map((c, i) => [c, row[i]])))) return
          row = row.map(remap)
          if (section.table === 'tenants') {
            const set = (column: string, value: unknown) => {
              const at = section.columns.indexOf(column)
              if (at >= 0) row[at] = value
            }
            set('slug', plan.slug)
            // Nobody can sign in to it until the switch makes it active.
            set('status', 'suspended')
            set('created_at', now)
            set('updated_at', now)
          }
        }
        if (section.table === 'files') {
          const col = (name: string) => row[section.columns.indexOf(name)]
          fileRows.push({ fileId: String(col('id')), sha256: String(col('sha256')), size: Number(col('size_bytes')) })
        }
        await stager.add(row)
      },
    })
    await stager.end()
  } catch (error) {
    // A batch may still be in flight; let it land before the caller cleans up after it.
    await stager.settle()
    throw error
  }
  return { staged, fileRows }
}

/** The ID kinds of a generation's restored tables, without writing anything (the slow path after a ForwardReference). */
async function idKinds(env: Env, backup: BackupRow) {
  const prefixes = new Set<string>()
  const restored = new Map(tenantTables().map((t) => [t.name, t]))
  await readSnapshot(env, backup, {
    onFirstRow: (section, row) => {
      const at = section.columns.indexOf('id')
      const value = at >= 0 ? row[at] : null
      if (typeof value === 'string' && restored.get(section.table)?.restored) {
        const m = ID_SHAPE.exec(value)
        if (m) prefixes.add(m[2]!)
      }
    },
  })
  return prefixes
}

/** Removes a new tenant that never became active (its rows cascade from the tenant row). */
async function dropNewTenant(env: Env, tenantId: string) {
  await env.DB.prepare("DELETE FROM tenants WHERE id = ? AND status = 'suspended'").bind(tenantId).run()
}

export async function restoreBackup(env: Env, backupId: string, input: RestoreInput, actor: AuditActor, meta: RequestMeta) {
  const db = database(env)
  const backup = await findBackup(db, backupId)
  if (backup.status !== 'complete') throw notComplete(backup)
  const source = await db.select().from(tenants).where(eq(tenants.id, backup.tenantId)).get()
  if (!input.target_slug && !source) throw Problem.conflict('The tenant no longer exists; restore into a new slug (target_slug).', 'tenant-gone')
  if (input.target_slug && (await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.slug, input.target_slug)).get())) {
    throw Problem.conflict(`The slug ${JSON.stringify(input.target_slug)} is already taken.`, 'slug-taken')
  }
  if (backup.schemaVersion !== (await schemaVersion(env))) {
    throw Problem.conflict(`Backup ${backup.id} was taken at schema ${backup.schemaVersion}; this service runs another schema.`, 'backup-schema-mismatch')
  }
  const blobs = await env.DB.prepare('SELECT count(*) AS n FROM backup_blobs WHERE backup_id = ?').bind(backup.id).first<{ n: number }>()
  if (blobs?.n !== backup.blobCount) {
    await recordRefusal(env, backup, 'the file copies do not match the catalogue', actor, meta)
    throw backupCorrupt(backup.id, 'the file copies do not match the catalogue')
  }

  const plan: Plan = input.target_slug
    ? { mode: 'new_tenant', tenantId: newId('tn'), slug: input.target_slug, shift: randomShift() }
    : { mode: 'in_place', tenantId: backup.tenantId, slug: null, shift: [0, 0] }
  const restoreId = crypto.randomUUID().replace(/-/g, '').slice(0, 12)
  // File objects this restore put into FILES: removed again if it does not switch.
  const put: string[] = []
  let switched = false
  let safetyId: string | null = null
  try {
    // 1. Decrypt, authenticate and stage in one pass.
    let stage: StageResult
    try {
      stage = await stageGeneration(env, backup, plan, restoreId, null)
    } catch (error) {
      if (!(error instanceof ForwardReference)) throw error
      await dropNewTenant(env, plan.tenantId)
      stage = await stageGeneration(env, backup, plan, restoreId, await idKinds(env, backup))
    }
    const { staged, fileRows } = stage

    // 2. Files back into FILES, before any row refers to them.
    //    Each copy is checked before it is written (a put aborted halfway leaves the local runtime's R2 with an
    //    unhandled rejection), and one already in FILES is checked too, so a damaged generation is refused whatever
    //    it would restore. Files are read twice; the data object, the bulk, once.
    for (const file of fileRows) {
      await readBlob(env, backup.tenantId, file.sha256)
      const key = `tenants/${plan.tenantId}/files/${file.fileId}`
      if (await restoreFileObject(env, backup.tenantId, key, file)) put.push(key)
    }

    // 3. In place: a safety snapshot of what is about to be replaced, verified like any other (after staging, so a
    //    refused generation leaves no safety snapshot behind, and the safety snapshot is as close to the switch as it can be).
    if (plan.mode === 'in_place') {
      const safety = await takeSnapshot(env, { tenantId: backup.tenantId, jstDate: jstDate(), kind: 'safety' }, meta)
      safetyId = safety.backupId
      const safetyRow = (await db.select().from(backups).where(eq(backups.id, safety.backupId)).get())!
      const safetyFailure = await checkBackup(env, safetyRow)
      if (safetyFailure) throw new Error(`safety snapshot ${safety.backupId} does not verify: ${safetyFailure}`)
      await db.update(backups).set({ verifiedAt: isoNow(), verifyResult: 'ok' }).where(eq(backups.id, safety.backupId))
    }

    // 4. The switch: one transaction.
    const now = isoNow()
    const currentFiles =
      plan.mode === 'in_place'
        ? (await env.DB.prepare('SELECT id FROM files WHERE tenant_id = ?').bind(plan.tenantId).all<{ id: string }>()).results.map((r) => r.id)
        : []
    const writes: SqlWrite[] = []
    const order = staged.map((s) => s.table)
    const cols = (s: TableSection) => s.columns.map((c) => `"${c}"`).join(', ')
    let guard = 0
    if (plan.mode === 'in_place') {
      for (const table of [...order].reverse()) {
        if (table !== 'tenants') writes.push({ sql: `DELETE FROM "${table}" WHERE tenant_id = ?`, params: [plan.tenantId] })
      }
      const tenantSection = staged.find((s) => s.table === 'tenants')!
      const others = tenantSection.columns.filter((c) => c !== 'id' && !TENANT_ROW_KEPT.has(c))
      guard = writes.length
      writes.push({
        sql: `UPDATE tenants SET (${others.map((c) => `"${c}"`).join(', ')}) = (SELECT ${others.map((c) => `"${c}"`).join(', ')} FROM "${stagingName(restoreId, 'tenants')}") WHERE id = ?`,
        params: [plan.tenantId],
      })
      for (const section of staged) {
        if (section.table === 'tenants') continue
        writes.push({ sql: `INSERT INTO "${section.table}" (${cols(section)}) SELECT ${cols(section)} FROM "${stagingName(restoreId, section.table)}"`, params: [] })
      }
    } else {
      guard = writes.length
      writes.push({ sql: "UPDATE tenants SET status = 'active', updated_at = ? WHERE id = ? AND status = 'suspended'", params: [now, plan.tenantId] })
      writes.push(usageRows(db, plan.tenantId, now))
    }

    const restoredRows = Object.fromEntries(staged.map((s) => [s.table, (backup.rowCounts ?? {})[s.table] ?? 0]))
    try {
      const result = await audit(
        env,
        meta,
        {
          tenantId: plan.tenantId,
          actor,
          action: 'backup.restored',
          target: { type: 'backup', id: backup.id },
          outcome: 'success',
          details: {
            mode: plan.mode,
            source_tenant_id: backup.tenantId,
            jst_date: backup.jstDate,
            safety_backup_id: safetyId,
            tables: staged.map((s) => s.table),
            files: fileRows.length,
          },
        },
        writes,
        { guard },
      )
      if (!result.ok) throw Problem.conflict('The tenant changed meanwhile (it was removed); nothing was restored.', 'tenant-gone')
    } catch (error) {
      if (String(error).includes('UNIQUE constraint failed: tenants.slug')) throw Problem.conflict(`The slug ${JSON.stringify(plan.slug)} is already taken.`, 'slug-taken')
      throw error
    }
    switched = true

    // 5. After the switch: file objects the restored state does not refer to.
    const kept = new Set(fileRows.map((f) => f.fileId))
    const stale = currentFiles.filter((id) => !kept.has(id))
    if (stale.length) await env.FILES.delete(stale.map((id) => `tenants/${plan.tenantId}/files/${id}`))

    return {
      backup_id: backup.id,
      mode: plan.mode,
      tenant_id: plan.tenantId,
      slug: plan.slug ?? source!.slug,
      safety_backup_id: safetyId,
      rows: restoredRows,
      files: fileRows.length,
    }
  } catch (error) {
    // Before the switch nothing the tenant sees has changed: what this restore wrote is removed again. A new tenant
    // that never became active goes (its rows cascade from the tenant row), and so do the file objects it put back.
    if (!switched) {
      if (plan.mode === 'new_tenant') await dropNewTenant(env, plan.tenantId)
      if (put.length) await env.FILES.delete(put)
    }
    if (error instanceof CorruptBackupError) {
      await recordRefusal(env, backup, error.message, actor, meta)
      throw backupCorrupt(backup.id, error.message)
    }
    throw error
  } finally {
    await dropStaging(env, restoreId)
  }
}

/** A refused restore is evidence too: the generation's verification result and the tenant's trail say why. */
async function recordRefusal(env: Env, backup: BackupRow, reason: string, actor: AuditActor, meta: RequestMeta) {
  const db = database(env)
  await audit(
    env,
    meta,
    {
      tenantId: backup.tenantId,
      actor,
      action: 'backup.verified',
      target: { type: 'backup', id: backup.id },
      outcome: 'failure',
      details: { result: reason, during: 'restore' },
    },
    [db.update(backups).set({ verifiedAt: isoNow(), verifyResult: reason }).where(eq(backups.id, backup.id)).toSQL()],
  )
}
