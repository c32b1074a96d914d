import { env } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import { NOT_TENANT_DATA, TENANT_TABLES } from '../src/db/tenant-tables'
import { schemaTables } from './helpers'

/** Every table of the migrated database with a tenant_id column, read from SQLite itself (not from the drizzle schema). */
async function tablesWithTenantId() {
  const found: string[] = []
  for (const table of await schemaTables()) {
    const { results } = await env.DB.prepare(`SELECT name FROM pragma_table_info(?)`).bind(table).all<{ name: string }>()
    if (results.some((c) => c.name === 'tenant_id')) found.push(table)
  }
  return found.sort()
}

describe('tenant tables', () => {
  it('lists every table of the database that has a tenant_id column, and tenants itself (export and erasure read this list)', async () => {
    const listed = TENANT_TABLES.map((t) => t.name)
    const expected = [...(await tablesWithTenantId()).filter((t) => !NOT_TENANT_DATA.has(t)), 'tenants'].sort()
    expect([...listed].sort()).toEqual(expected)
    // The join tables and the audit trail (no foreign key) are tenant data too.
    expect(listed).toEqual(expect.arrayContaining(['maintenance_window_tenants', 'incident_tenants', 'audit_events']))
  })

  it('keeps the erasure record (what termination keeps) and the wrapped data keys (never exported or snapshotted) out of the list', () => {
    expect(TENANT_TABLES.map((t) => t.name)).not.toContain('tenant_erasures')
    expect(TENANT_TABLES.map((t) => t.name)).not.toContain('tenant_keys')
  })

  it('orders children before the tables they reference, tenants last', async () => {
    const position = new Map(TENANT_TABLES.map((t, i) => [t.name, i]))
    for (const table of TENANT_TABLES) {
      const { results } = await env.DB.prepare('SELECT "table" AS parent FROM pragma_foreign_key_list(?)').bind(table.name).all<{ parent: string }>()
      for (const { parent } of results) {
        if (position.has(parent) && parent !== table.name) expect(position.get(table.name)!, `${table.name} before ${parent}`).toBeLessThan(position.get(parent)!)
      }
    }
    expect(TENANT_TABLES.at(-1)!.name).toBe('tenants')
  })

  it('pages by the single-column primary key where there is one, else by rowid', () => {
    const key = Object.fromEntries(TENANT_TABLES.map((t) => [t.name, t.pageKey]))
    expect(key).toMatchObject({ records: 'id', files: 'id', users: 'id', tenants: 'id', tenant_policies: 'tenant_id', tenant_usage: 'rowid', incident_tenants: 'rowid' })
  })
})
