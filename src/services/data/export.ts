import { TENANT_TABLES, type TenantTable } from '../../db/tenant-tables'
import { decodeCursor, encodeCursor } from '../../lib/cursor'
import { Problem } from '../../lib/problem'

/**
 * Columns never exported, whoever asks (DM-2): what would let the holder
 * of an export sign in as someone or answer their second factor.
 * - users.password_hash, password_history.password_hash: password hashes;
 * - mfa_factors.secret: the (encrypted) TOTP seed;
 * - recovery_codes.code_hash: MACs of unused recovery codes;
 * - mfa_challenges.token_hash, code_mac: hashes of live challenge tokens and mailed codes;
 * - mail_outbox.subject, body: a sign-in or reset mail names its one-time code in both (until delivery blanks them).
 * Every other column of every tenant table is exported as stored.
 */
export const EXPORT_OMITTED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  users: ['password_hash'],
  password_history: ['password_hash'],
  mfa_factors: ['secret'],
  recovery_codes: ['code_hash'],
  mfa_challenges: ['token_hash', 'code_mac'],
  mail_outbox: ['subject', 'body'],
}

export type DataExportLimits = {
  /** Rows per D1 query. Default 500. */
  pageSize: number
  /** Pages one response may read (D1 allows 1,000 queries per invocation). Default 900. */
  maxPages: number
}

/** The limits exportTenantData() uses; module-level so a test can reach the per-response limit with a few rows. */
export const DATA_EXPORT_LIMITS: DataExportLimits = { pageSize: 500, maxPages: 900 }

/** Parents before children: the tenant first, then its accounts, then what they made. */
const EXPORT_ORDER: readonly TenantTable[] = [...TENANT_TABLES].reverse()

/** `<table index>:<last key read>`; an empty key means from the table's start. */
const CURSOR_PATTERN = /^(\d{1,3}):(.{0,200})$/

type Position = { table: number; after: string | number | null }

/** Where an export goes on (the `next_cursor` of the previous part); 422 for anything this API did not issue. */
export function exportPosition(cursor: string | undefined): Position {
  const key = decodeCursor(cursor, CURSOR_PATTERN)
  if (key === undefined) return { table: 0, after: null }
  const [, table, after] = key.match(CURSOR_PATTERN)!
  const index = Number(table)
  const found = EXPORT_ORDER[index]
  if (!found || (found.pageKey === 'rowid' && !/^\d{0,19}$/.test(after!))) {
    throw Problem.validation([{ path: 'query.cursor', message: 'Not a cursor this API issued.' }], 'Invalid cursor.')
  }
  if (after === '') return { table: index, after: null }
  return { table: index, after: found.pageKey === 'rowid' ? Number(after) : after! }
}

function exportedColumns(table: TenantTable) {
  const omitted = new Set(EXPORT_OMITTED_COLUMNS[table.name] ?? [])
  return table.columns.filter((c) => !omitted.has(c))
}

function pageQuery(db: D1Database, table: TenantTable, tenantId: string, after: string | number | null, limit: number) {
  const columns = exportedColumns(table).map((c) => `"${c}"`)
  const key = table.pageKey === 'rowid' ? 'rowid' : `"${table.pageKey}"`
  const select = table.pageKey === 'rowid' ? ['rowid AS "__key"', ...columns] : columns
  const sql =
    `SELECT ${select.join(', ')} FROM "${table.name}" WHERE "${table.tenantColumn}" = ?1` +
    (after === null ? '' : ` AND ${key} > ?2`) +
    ` ORDER BY ${key} LIMIT ${limit}`
  const statement = db.prepare(sql)
  return after === null ? statement.bind(tenantId) : statement.bind(tenantId, after)
}

/**
 * The tenant's whole data as NDJSON (DM-2): one line per row of every
 * tenant table, `{"table":…,"row":{…}}` with the row's columns as stored,
 * less EXPORT_OMITTED_COLUMNS; a file's line also carries its
 * `download_path` (its bytes are downloaded there, and its `sha256` is in
 * the row). The last line says whether the export is complete:
 * `{"complete":true}`, or `{"complete":false,"next_cursor":…}` when this
 * response reached its page budget, and the same request with `cursor` goes
 * on. Streamed page by page (a bounded query each), so memory stays flat
 * whatever the tenant's size. Pages are read as the client reads, not as
 * one snapshot: a row changed meanwhile appears as it was when its page was read.
 */
export function exportTenantData(db: D1Database, tenantId: string, start: Position, limits: DataExportLimits = DATA_EXPORT_LIMITS) {
  const encoder = new TextEncoder()
  let { table: index, after } = start
  let pages = 0
  return new ReadableStream<Uint8Array>(
    {
      // Each pull enqueues something or closes: a pull that enqueued nothing would not be called again.
      async pull(controller) {
        for (;;) {
          if (await readPage(controller)) return
        }
      },
    },
    // Nothing is read until the client reads, after the export was recorded (its own event is in it).
    { highWaterMark: 0 },
  )

  /** Reads one page (or ends the stream); true when it enqueued a line or closed. */
  async function readPage(controller: ReadableStreamDefaultController<Uint8Array>): Promise<boolean> {
    const table = EXPORT_ORDER[index]
    if (!table) {
      controller.enqueue(encoder.encode(`${JSON.stringify({ complete: true })}\n`))
      controller.close()
      return true
    }
    if (pages >= limits.maxPages) {
      const next = encodeCursor(`${index}:${after ?? ''}`)
      controller.enqueue(encoder.encode(`${JSON.stringify({ complete: false, next_cursor: next })}\n`))
      controller.close()
      return true
    }
    pages++
    const { results } = await pageQuery(db, table, tenantId, after, limits.pageSize).all<Record<string, unknown>>()
    const lines = results.map((row) => {
      let key: unknown
      if (table.pageKey === 'rowid') {
        key = row.__key
        delete row.__key
      } else key = row[table.pageKey]
      after = key as string | number
      const line: Record<string, unknown> = { table: table.name, row }
      if (table.name === 'files') line.download_path = `/api/v1/files/${String(row.id)}`
      return `${JSON.stringify(line)}\n`
    })
    if (lines.length) controller.enqueue(encoder.encode(lines.join('')))
    if (results.length < limits.pageSize) {
      index++
      after = null
    }
    return lines.length > 0
  }
}
