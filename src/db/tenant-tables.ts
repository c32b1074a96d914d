/**
 * Every table that holds a tenant's rows, derived from the drizzle schema
 * rather than listed by hand: a table added to schema.ts with a `tenant_id`
 * column is exported, snapshotted and erased without anyone remembering to
 * add it here (test/tenant-tables.test.ts also compares with the live
 * database, so a table created by hand-written SQL alone fails the suite).
 */
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core'
import { is } from 'drizzle-orm'
import * as schema from './schema'

export type TenantTable = {
  /** The SQL table name. */
  name: string
  /** The drizzle table, for callers that want typed queries. */
  table: SQLiteTable
  /** The column naming the tenant: `tenant_id`, or `id` for `tenants` itself. */
  tenantColumn: string
  /**
   * A key to page the tenant's rows by, in order: the single-column primary
   * key where there is one, else SQLite's `rowid` (every table here is a
   * rowid table).
   */
  pageKey: string
  /** Every column, in schema order. */
  columns: string[]
}

/**
 * Tables with a `tenant_id` column that are not the tenant's data: the
 * erasure record is what termination keeps (and its proof that it ran), and
 * the wrapped data keys are never exported or snapshotted (a snapshot is
 * sealed under them); termination destroys them in a step of their own, last.
 */
export const NOT_TENANT_DATA = new Set(['tenant_erasures', 'tenant_keys'])

function describe(table: SQLiteTable): TenantTable | null {
  const config = getTableConfig(table)
  if (NOT_TENANT_DATA.has(config.name)) return null
  const columns = config.columns.map((c) => c.name)
  const tenantColumn = config.name === 'tenants' ? 'id' : columns.includes('tenant_id') ? 'tenant_id' : null
  if (!tenantColumn) return null
  const primary = config.columns.filter((c) => c.primary)
  const pageKey = primary.length === 1 && config.primaryKeys.length === 0 ? primary[0]!.name : 'rowid'
  return { name: config.name, table, tenantColumn, pageKey, columns }
}

/** The tables (of `tables`) that `table` references by foreign key, other than itself. */
function referenced(table: SQLiteTable, names: Set<string>): string[] {
  const self = getTableConfig(table).name
  return getTableConfig(table)
    .foreignKeys.map((fk) => getTableConfig(fk.reference().foreignTable).name)
    .filter((name) => name !== self && names.has(name))
}

/**
 * Orders tables so that every table comes before the tables it references:
 * deleting in this order never leaves a row whose parent is gone, and never
 * lets an ON DELETE CASCADE remove rows behind the eraser's count.
 */
function childrenFirst(tables: TenantTable[]): TenantTable[] {
  const names = new Set(tables.map((t) => t.name))
  const byName = new Map(tables.map((t) => [t.name, t]))
  const placed = new Set<string>()
  const order: TenantTable[] = []
  // Kahn on the reversed graph: a table is placed once every table that references it is.
  const referrers = new Map<string, string[]>(tables.map((t) => [t.name, []]))
  for (const t of tables) for (const parent of referenced(t.table, names)) referrers.get(parent)!.push(t.name)
  while (order.length < tables.length) {
    const ready = (t: TenantTable) => !placed.has(t.name) && referrers.get(t.name)!.every((r) => placed.has(r))
    // The tenant row goes last even where no foreign key says so (the backups catalogue has none).
    const next = tables.find((t) => t.name !== 'tenants' && ready(t)) ?? tables.find(ready)
    if (!next) throw new Error('tenant tables: foreign keys form a cycle')
    placed.add(next.name)
    order.push(byName.get(next.name)!)
  }
  return order
}

/**
 * Every tenant table, children before parents (`tenants` last): the order
 * erasure deletes in. Export and snapshots may read in any order.
 */
export const TENANT_TABLES: readonly TenantTable[] = childrenFirst(
  Object.values(schema as Record<string, unknown>)
    .filter((value): value is SQLiteTable => is(value, SQLiteTable))
    .map(describe)
    .filter((t): t is TenantTable => t !== null),
)

export function tenantTable(name: string): TenantTable | undefined {
  return TENANT_TABLES.find((t) => t.name === name)
}
