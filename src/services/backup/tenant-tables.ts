import { is } from 'drizzle-orm'
import { SQLiteTable, getTableConfig } from 'drizzle-orm/sqlite-core'
import * as schema from '../../db/schema'
import { TENANT_TABLES } from '../../db/tenant-tables'

/**
 * The tables a snapshot holds, found from the drizzle schema rather than
 * listed by hand: every table with a `tenant_id` column, plus the tenant's own
 * row. A table added later is in the next snapshot without anyone
 * remembering it; what is left out, or not rewound by a restore, is named
 * here with the reason, and test/backups.test.ts fails when a tenant table
 * is neither snapshotted nor excused.
 */

/**
 * Tenant tables a snapshot leaves out: the catalogue of snapshots itself.
 * (The wrapped data keys and the erasure record are no tenant data at all:
 * db/tenant-tables.ts leaves them out of every list.)
 */
export const NOT_SNAPSHOTTED: Record<string, string> = {
  backups: 'the catalogue of the snapshots themselves',
  backup_blobs: 'which file copies each snapshot refers to (the catalogue again)',
}

/**
 * Snapshotted (evidence, and the drill), but an in-place restore keeps the
 * current rows instead of rewinding them, and a restore into a new tenant
 * starts them empty.
 */
export const KEPT_ON_RESTORE: Record<string, string> = {
  audit_events: 'append-only and hash-chained under an anchor the audit sequencer holds; the restore is itself an event on it',
  tenant_usage: 'metered requests only ever grow (contracts and invoices count them)',
  mail_outbox: 'mail already sent or queued: rewinding would send it again or lose it',
  alert_outbox: 'alerts already delivered or queued to the operators',
  alert_counters: 'short-lived intrusion-detection windows',
  mfa_challenges: 'sign-in challenges that expire in minutes',
  incident_tenants: 'the platform\u2019s record of which incidents concerned the tenant',
  maintenance_window_tenants: 'the platform\u2019s record of which windows concerned the tenant',
  tenant_maintenance: 'the operators\u2019 maintenance flag for the tenant now, not part of its data',
}

/**
 * Rows a restore into a new tenant does not copy, by table: secrets sealed or
 * MAC'd for the source tenant's own accounts (under its key, bound to its
 * account IDs) that would not open for the copy; its users enrol again.
 * `support_grants` lets operators read the source tenant, not the copy.
 */
export const CLONE_FILTERS: Record<string, { skipAll?: true; keep?: (row: Record<string, unknown>) => boolean; why: string }> = {
  mfa_factors: { keep: (row) => row.secret === null, why: 'TOTP secrets are sealed for the source account; e-mail factors (no secret) are kept' },
  recovery_codes: { skipAll: true, why: 'recovery-code MACs are bound to the source accounts' },
  support_grants: { skipAll: true, why: 'a support grant is for the source tenant' },
}

/**
 * Columns of the tenant row an in-place restore keeps: the operator's and the
 * contract's decisions (its slug, plan, status and per-contract limits), not
 * the tenant's data. Rewinding them could reopen a suspended tenant, change
 * what it is billed for, or take back a slug another tenant now holds.
 */
export const TENANT_ROW_KEPT = new Set(['slug', 'plan_id', 'status', 'limit_seats', 'limit_concurrent_sessions', 'limit_storage_bytes', 'limit_requests_per_minute', 'limit_requests_per_month'])

export type TenantTable = {
  name: string
  /** Column names in the table's own order. */
  columns: string[]
  /** How rows belong to the tenant: `tenant_id = ?`, or (the tenant row) `id = ?`. */
  scope: 'tenant_id' | 'id'
  /** Keyset for paged reads: the single-column primary key, else SQLite's rowid. */
  pageKey: string
  /** Tables this one references, which must be written before it and deleted after it. */
  parents: string[]
  /** Rewound by an in-place restore and copied into a new tenant. */
  restored: boolean
}

function tables(): SQLiteTable[] {
  return (Object.values(schema) as unknown[]).filter((value): value is SQLiteTable => is(value, SQLiteTable))
}

let cached: TenantTable[] | null = null

/**
 * Every snapshotted tenant table, parents before children (the order rows
 * are written in): the platform's one list of tenant tables (db/tenant-tables,
 * children first, the order erasure deletes in) reversed, less the catalogue.
 */
export function tenantTables(): TenantTable[] {
  if (cached) return cached
  cached = [...TENANT_TABLES]
    .reverse()
    .filter((t) => !(t.name in NOT_SNAPSHOTTED))
    .map((t) => ({
      name: t.name,
      columns: t.columns,
      scope: t.tenantColumn === 'id' ? ('id' as const) : ('tenant_id' as const),
      pageKey: t.pageKey,
      parents: [...new Set(getTableConfig(t.table).foreignKeys.map((fk) => getTableConfig(fk.reference().foreignTable).name))].filter((p) => p !== t.name),
      restored: !(t.name in KEPT_ON_RESTORE),
    }))
  return cached
}

/** Every table of the schema with a `tenant_id` column (for the completeness test). */
export function tablesWithTenantId(): string[] {
  return tables()
    .map((t) => getTableConfig(t))
    .filter((c) => c.columns.some((col) => col.name === 'tenant_id'))
    .map((c) => c.name)
}
