import { createHash } from 'node:crypto'
import type { backups } from '../../db/schema'
import { SegmentedAeadError } from '../../lib/segmented-aead'
import { MissingObjectError, backupKeys, identities, readSealedObject } from './sealed-object'

type BackupRow = typeof backups.$inferSelect

/** A generation that does not check out: why, in words an operator can act on (no tenant data). */
export class CorruptBackupError extends Error {
  constructor(reason: string) {
    super(reason)
    this.name = 'CorruptBackupError'
  }
}

export type TableSection = { table: string; columns: string[] }

export type ReadHandlers = {
  /** The header line (format, generation, schema version, the ID kinds per table), once it has authenticated. */
  onHeader?: (header: Record<string, unknown>) => void
  onTable?: (section: TableSection) => Promise<void> | void
  onRow?: (section: TableSection, row: unknown[]) => Promise<void> | void
  /** The first row of each table, parsed (cheaper than onRow when that is all a caller needs). */
  onFirstRow?: (section: TableSection, row: unknown[]) => void
}

/**
 * Decrypts a generation's data object and walks its NDJSON: the header line,
 * then per table a `{table, columns}` line, its rows (arrays) and an
 * `{end, rows}` trailer, then the final `{end: true}`. Every structural and
 * cryptographic check raises CorruptBackupError; the digests, sizes and row
 * counts are then compared with the D1 row (the anchor the objects cannot
 * rewrite) and the manifest. Handlers see rows only as they authenticate, so
 * a caller that writes them must write somewhere disposable (restore stages).
 */
export async function readSnapshot(env: Env, backup: BackupRow, handlers: ReadHandlers = {}) {
  if (backup.status !== 'complete') throw new CorruptBackupError(`the generation is ${backup.status}, not complete`)
  const manifestObject = await env.BACKUPS.get(backupKeys.manifest(backup.tenantId, backup.id))
  if (!manifestObject) throw new CorruptBackupError('the manifest is missing')
  let manifest: Record<string, unknown>
  try {
    manifest = JSON.parse(await manifestObject.text())
  } catch {
    throw new CorruptBackupError('the manifest is not JSON')
  }
  const expected: Record<string, unknown> = {
    backup_id: backup.id,
    tenant_id: backup.tenantId,
    key_id: backup.keyId,
    plaintext_sha256: backup.plaintextSha256,
    ciphertext_sha256: backup.ciphertextSha256,
    plaintext_bytes: backup.plaintextBytes,
    ciphertext_bytes: backup.ciphertextBytes,
    blob_count: backup.blobCount,
  }
  for (const [field, value] of Object.entries(expected)) {
    if (manifest[field] !== value) throw new CorruptBackupError(`the manifest's ${field} does not match the catalogue`)
  }

  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  let pending = ''
  let line = 0
  let section: TableSection | null = null
  let sectionRows = 0
  let ended = false
  const counts: Record<string, number> = {}

  const onLine = async (text: string) => {
    line += 1
    // Without a row handler a row line is only counted: its bytes are already authenticated and hashed.
    if (!handlers.onRow && section && sectionRows > 0 && text.startsWith('[') && text.endsWith(']')) {
      sectionRows += 1
      return
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      throw new CorruptBackupError(`line ${line} is not JSON`)
    }
    if (ended) throw new CorruptBackupError('data after the end of the snapshot')
    if (line === 1) {
      const head = value as Record<string, unknown>
      if (head.format !== 'mamori-snapshot' || head.backup_id !== backup.id || head.tenant_id !== backup.tenantId) {
        throw new CorruptBackupError('the snapshot names another generation or tenant')
      }
      handlers.onHeader?.(head)
      return
    }
    if (Array.isArray(value)) {
      if (!section || value.length !== section.columns.length) throw new CorruptBackupError(`line ${line} is a row outside a table or of the wrong width`)
      sectionRows += 1
      if (sectionRows === 1) handlers.onFirstRow?.(section, value)
      await handlers.onRow?.(section, value)
      return
    }
    const record = value as Record<string, unknown>
    if (typeof record.table === 'string' && Array.isArray(record.columns)) {
      if (section) throw new CorruptBackupError(`table ${record.table} starts inside ${section.table}`)
      section = { table: record.table, columns: record.columns as string[] }
      sectionRows = 0
      await handlers.onTable?.(section)
      return
    }
    if (record.end === true) {
      if (section) throw new CorruptBackupError('the snapshot ends inside a table')
      ended = true
      return
    }
    if (typeof record.end === 'string') {
      if (!section || record.end !== section.table || record.rows !== sectionRows) throw new CorruptBackupError(`table ${String(record.end)} does not end as it began`)
      counts[section.table] = sectionRows
      section = null
      return
    }
    throw new CorruptBackupError(`line ${line} is not part of the format`)
  }

  let summary
  try {
    summary = await readSealedObject(env, backup.tenantId, backupKeys.data(backup.tenantId, backup.id), identities.snapshot(backup.tenantId, backup.id), async (piece) => {
      pending += decoder.decode(piece, { stream: true })
      let at: number
      while ((at = pending.indexOf('\n')) >= 0) {
        const text = pending.slice(0, at)
        pending = pending.slice(at + 1)
        await onLine(text)
      }
    })
  } catch (error) {
    if (error instanceof SegmentedAeadError) throw new CorruptBackupError(`the data does not decrypt: ${error.message}`)
    if (error instanceof MissingObjectError) throw new CorruptBackupError('the data object is missing')
    if (error instanceof TypeError) throw new CorruptBackupError('the data is not UTF-8 text')
    throw error
  }
  if (pending.length || !ended) throw new CorruptBackupError('the snapshot has no end')
  if (summary.plaintextSha256 !== backup.plaintextSha256) throw new CorruptBackupError('the plaintext SHA-256 does not match')
  if (summary.ciphertextSha256 !== backup.ciphertextSha256) throw new CorruptBackupError('the ciphertext SHA-256 does not match')
  if (summary.keyId !== backup.keyId) throw new CorruptBackupError('the data is sealed under another key ID')
  if (JSON.stringify(counts) !== JSON.stringify(backup.rowCounts)) throw new CorruptBackupError('the row counts do not match')
  return { counts, summary }
}

/** Decrypts one file copy and checks it is the content its name says; returns its bytes through `onPlaintext`. */
export async function readBlob(env: Env, tenantId: string, sha256: string, onPlaintext: (piece: Uint8Array) => Promise<void> | void = () => {}) {
  const hash = createHash('sha256')
  try {
    await readSealedObject(env, tenantId, backupKeys.blob(tenantId, sha256), identities.blob(tenantId, sha256), async (piece) => {
      hash.update(piece)
      await onPlaintext(piece)
    })
  } catch (error) {
    if (error instanceof SegmentedAeadError) throw new CorruptBackupError(`a file copy does not decrypt: ${error.message}`)
    if (error instanceof MissingObjectError) throw new CorruptBackupError('a file copy is missing')
    throw error
  }
  if (hash.digest('hex') !== sha256) throw new CorruptBackupError('a file copy does not match its SHA-256')
}
