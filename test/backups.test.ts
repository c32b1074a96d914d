import { createExecutionContext, createScheduledController, env, introspectWorkflowInstance, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'
import worker from '../src/index'
import { newId } from '../src/lib/ids'
import { jstDate } from '../src/lib/time'
import { snapshotInstanceId } from '../src/services/backup/fan-out'
import { KEEP_GENERATIONS, expiredGenerations } from '../src/services/backup/retention'
import { randomShift, remapper } from '../src/services/backup/restore'
import { SealedObjectWriter, backupKeys, identities, readSealedObject } from '../src/services/backup/sealed-object'
import { KEPT_ON_RESTORE, NOT_SNAPSHOTTED, tenantTables } from '../src/services/backup/tenant-tables'
import { NOT_TENANT_DATA } from '../src/db/tenant-tables'
import { call, expectProblem, lastCode, operator, schemaTables, tenantWithAdmin, userOf, type TestTenant } from './helpers'

type InstanceStatus = { status: string; error?: { message: string } | null; output?: unknown }

/** Waits for a snapshot workflow instance to finish, through the engine's own status. */
async function settled(instanceId: string): Promise<InstanceStatus> {
  const instance = await env.SNAPSHOTS.get(instanceId)
  for (let i = 0; i < 600; i++) {
    const status = (await instance.status()) as InstanceStatus
    if (['complete', 'errored', 'terminated'].includes(status.status)) return status
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`instance ${instanceId} did not finish`)
}

async function backupNow(tenant: { id: string }) {
  const ops = await operator()
  const started = await call('POST', '/ops/v1/backups', { token: ops, body: { tenant_id: tenant.id } })
  expect(started.status).toBe(202)
  const instanceId = snapshotInstanceId(tenant.id, jstDate())
  expect(started.body.instance_ids).toEqual([instanceId])
  const status = await settled(instanceId)
  expect(status.status).toBe('complete')
  const row = await latestBackup(tenant.id)
  return row
}

async function latestBackup(tenantId: string) {
  return (await env.DB.prepare("SELECT * FROM backups WHERE tenant_id = ? AND kind = 'daily' ORDER BY id DESC LIMIT 1").bind(tenantId).first<any>())!
}

async function addRecord(tenant: TestTenant, data: Record<string, unknown>, collection = 'notes') {
  const reply = await call('POST', '/api/v1/records', { token: tenant.adminToken, body: { collection, data } })
  expect(reply.status).toBe(201)
  return reply.body as { id: string }
}

async function addFile(tenant: TestTenant, name: string, content: string) {
  const reply = await call('PUT', `/api/v1/files/${encodeURIComponent(name)}`, {
    token: tenant.adminToken,
    raw: content,
    headers: { 'Content-Type': 'text/plain', 'Content-Length': String(new TextEncoder().encode(content).length) },
  })
  expect(reply.status).toBe(201)
  return reply.body as { id: string; sha256: string }
}

async function objectBytes(key: string) {
  return new Uint8Array(await (await env.BACKUPS.get(key))!.arrayBuffer())
}

async function listAll(bucket: R2Bucket, prefix: string) {
  const keys: string[] = []
  let cursor: string | undefined
  do {
    const listed = await bucket.list({ prefix, cursor })
    keys.push(...listed.objects.map((o) => o.key))
    cursor = listed.truncated ? listed.cursor : undefined
  } while (cursor)
  return keys
}

/** The tenant's rows in every snapshotted table: what a refused restore must leave as it was. */
async function tenantState(tenantId: string) {
  const state: Record<string, unknown[]> = {}
  for (const table of tenantTables()) {
    if (table.name === 'audit_events') continue
    const scope = table.scope === 'id' ? 'id' : 'tenant_id'
    state[table.name] = (await env.DB.prepare(`SELECT * FROM "${table.name}" WHERE ${scope} = ? ORDER BY rowid`).bind(tenantId).all()).results
  }
  return state
}

// The data object's layout (lib/segmented-aead): header, then 64 KiB segments of ciphertext plus a 16-byte tag.
/** The header's length: it names the tenant key the content key is sealed under. */
const headerBytes = (keyId: string) => 9 + keyId.length + 12 + 48
const SEALED_SEGMENT = 64 * 1024 + 16

describe('what a snapshot holds', () => {
  it('holds every table with a tenant_id column, in D1 as in the schema, or says why not', async () => {
    const snapshotted = new Set(tenantTables().map((t) => t.name))
    const missing: string[] = []
    for (const table of await schemaTables()) {
      if (table.startsWith('_restore_')) continue
      const columns = (await env.DB.prepare(`SELECT name FROM pragma_table_info('${table}')`).all<{ name: string }>()).results.map((c) => c.name)
      if (columns.includes('tenant_id') && !snapshotted.has(table) && !(table in NOT_SNAPSHOTTED) && !NOT_TENANT_DATA.has(table)) missing.push(table)
    }
    expect(missing).toEqual([])
    expect(snapshotted.has('tenants')).toBe(true)
    for (const kept of Object.keys(KEPT_ON_RESTORE)) expect(snapshotted.has(kept)).toBe(true)
  })

  it('records rows of every tenant table, the schema version and the key id', async () => {
    const t = await tenantWithAdmin()
    await addRecord(t, { title: 'first' })
    const row = await backupNow(t)
    expect(row).toMatchObject({ status: 'complete', kind: 'daily', key_id: expect.stringMatching(/^tk_/), format_version: 1, verify_result: 'ok', jst_date: jstDate() })
    const latest = await env.DB.prepare('SELECT name FROM d1_migrations ORDER BY id DESC LIMIT 1').first<{ name: string }>()
    expect(row.schema_version).toBe(latest!.name.replace(/\.sql$/, ''))
    const counts = JSON.parse(row.row_counts)
    expect(Object.keys(counts)).toEqual(tenantTables().map((t) => t.name))
    expect(counts).toMatchObject({ tenants: 1, users: 1, records: 1 })
    const manifest = JSON.parse(new TextDecoder().decode(await objectBytes(backupKeys.manifest(t.id, row.id))))
    expect(manifest).toMatchObject({
      tenant_id: t.id,
      jst_date: row.jst_date,
      row_counts: counts,
      key_id: expect.stringMatching(/^tk_/),
      format_version: 1,
      schema_version: row.schema_version,
      plaintext_sha256: row.plaintext_sha256,
      ciphertext_sha256: row.ciphertext_sha256,
      blob_count: 0,
    })
  })
})

describe('the nightly fan-out', () => {
  it('starts one instance per active tenant, and every snapshot completes; the same slot again writes nothing', async () => {
    const a = await tenantWithAdmin()
    const b = await tenantWithAdmin()
    await addRecord(a, { n: 1 })
    const slot = Date.UTC(2031, 4, 10, 19, 0, 0)
    const date = jstDate(slot)
    const run = async () => {
      const ctx = createExecutionContext()
      await worker.scheduled(createScheduledController({ cron: '0 19 * * *', scheduledTime: slot }), env, ctx)
      await waitOnExecutionContext(ctx)
    }
    await run()
    const active = (await env.DB.prepare("SELECT id FROM tenants WHERE status = 'active' ORDER BY id").all<{ id: string }>()).results.map((r) => r.id)
    expect(active).toEqual(expect.arrayContaining([a.id, b.id]))
    for (const id of active) expect((await settled(snapshotInstanceId(id, date))).status).toBe('complete')
    const rows = (await env.DB.prepare('SELECT tenant_id, status, verify_result FROM backups WHERE jst_date = ? ORDER BY tenant_id').bind(date).all()).results
    expect(rows).toEqual(active.map((id) => ({ tenant_id: id, status: 'complete', verify_result: 'ok' })))

    // The rows themselves (`.results`): the query's meta carries its duration, which differs from run to run.
    const before = { rows: (await env.DB.prepare('SELECT * FROM backups ORDER BY id').all()).results, objects: await listAll(env.BACKUPS, 'tenants/') }
    await run()
    // A second instance with the same ID is refused by the engine; the D1 row is the second line.
    for (const id of active) expect((await settled(snapshotInstanceId(id, date))).status).toBe('complete')
    expect({ rows: (await env.DB.prepare('SELECT * FROM backups ORDER BY id').all()).results, objects: await listAll(env.BACKUPS, 'tenants/') }).toEqual(before)
  })

  it('writes nothing new when asked again for the same date', async () => {
    const t = await tenantWithAdmin()
    const first = await backupNow(t)
    const objects = await listAll(env.BACKUPS, backupKeys.prefix(t.id))
    const ops = await operator()
    const again = await call('POST', '/ops/v1/backups', { token: ops, body: { tenant_id: t.id } })
    expect(again.status).toBe(202)
    expect(again.body).toMatchObject({ started: 0, already_started: 1 })
    expect(await latestBackup(t.id)).toEqual(first)
    expect(await listAll(env.BACKUPS, backupKeys.prefix(t.id))).toEqual(objects)

    // After the engine has forgotten the instance, a new one for the same day finds the generation and stops.
    const events = await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE chain = ?').bind(t.id).first()
    await env.SNAPSHOTS.create({ id: `${snapshotInstanceId(t.id, jstDate())}-again`, params: { tenantId: t.id, jstDate: jstDate() } })
    expect(await settled(`${snapshotInstanceId(t.id, jstDate())}-again`)).toMatchObject({ status: 'complete', output: { backup_id: first.id, skipped: true } })
    expect(await latestBackup(t.id)).toEqual(first)
    expect(await listAll(env.BACKUPS, backupKeys.prefix(t.id))).toEqual(objects)
    expect(await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE chain = ?').bind(t.id).first()).toEqual(events)
  })

  it('a tenant that fails after its retries does not stop another, and raises an incident and an operator alert', async () => {
    const failing = await tenantWithAdmin()
    const fine = await tenantWithAdmin()
    const ops = await operator()
    // A file whose object was lost: every attempt of this tenant's snapshot fails for real.
    const lost = await addFile(failing, 'lost.txt', 'gone')
    await env.FILES.delete(`tenants/${failing.id}/files/${lost.id}`)
    const failingId = snapshotInstanceId(failing.id, jstDate())
    await using instance = await introspectWorkflowInstance(env.SNAPSHOTS, failingId)
    await instance.modify(async (m) => {
      await m.disableRetryDelays()
    })
    const started = await call('POST', '/ops/v1/backups', { token: ops, body: { tenant_id: failing.id } })
    expect(started.status).toBe(202)
    await instance.waitForStatus('errored')
    const good = await backupNow(fine)
    expect(good.status).toBe('complete')

    const incident = await env.DB.prepare("SELECT * FROM incidents WHERE tenant_ids LIKE ? AND title LIKE 'Nightly backup failed%'").bind(`%${failing.id}%`).first<any>()
    expect(incident).toMatchObject({ status: 'investigating', severity: 'major', opened_by: 'system:backups' })
    const alert = await env.DB.prepare("SELECT kind FROM alert_outbox WHERE kind = 'incident.opened' AND payload LIKE ?").bind(`%${incident.id}%`).first()
    expect(alert).toEqual({ kind: 'incident.opened' })
    const failed = await env.DB.prepare("SELECT outcome, details FROM audit_events WHERE chain = ? AND action = 'backup.failed'").bind(failing.id).first<any>()
    expect(failed.outcome).toBe('failure')
    expect(JSON.parse(failed.details).reason).toMatch(/file object missing/)
    const listed = await call('GET', `/ops/v1/backups?tenant_id=${failing.id}`, { token: ops })
    expect(listed.body.items).toMatchObject([{ status: 'failed', error: expect.stringMatching(/file object missing/) }])
    const generation = listed.body.items[0]
    expect(generation).not.toHaveProperty('attempts')
    // Five attempts (one and four retries), all of the same generation; nothing that looks complete.
    expect(await env.DB.prepare('SELECT attempts FROM backups WHERE id = ?').bind(generation.id).first()).toEqual({ attempts: 5 })
    expect(await env.BACKUPS.head(backupKeys.manifest(failing.id, generation.id))).toBeNull()
    expectProblem(await call('POST', `/ops/v1/backups/${generation.id}/verify`, { token: ops }), 409, 'backup-not-complete')
    expectProblem(await call('POST', `/ops/v1/backups/${generation.id}/restore`, { token: ops, body: {} }), 409, 'backup-not-complete')
  })
})

describe('format on storage', () => {
  it('leaves no plaintext in any object, key or listing, and names no slug or file name', async () => {
    const t = await tenantWithAdmin()
    const marker = `MARKER-${crypto.randomUUID()}`
    await addRecord(t, { secret: marker })
    await addFile(t, `report-${marker}.txt`, `file body ${marker}`)
    const row = await backupNow(t)
    const keys = await listAll(env.BACKUPS, backupKeys.prefix(t.id))
    expect(keys).toHaveLength(3)
    for (const key of keys) {
      expect(key.includes(t.slug) || key.includes(marker) || key.includes('report')).toBe(false)
      const raw = new TextDecoder('latin1').decode(await objectBytes(key))
      expect(raw.includes(marker)).toBe(false)
      expect(raw.includes(t.adminEmail)).toBe(false)
    }
    expect(row.blob_count).toBe(1)
  })
})

describe('verify and restore', () => {
  async function tenantWithBackup() {
    const t = await tenantWithAdmin()
    // About 150 KB of records, so the data object has several segments.
    for (let i = 0; i < 30; i++) await addRecord(t, { i, body: 'x'.repeat(5000) })
    const row = await backupNow(t)
    return { t, row, key: backupKeys.data(t.id, row.id), HEADER_BYTES: headerBytes(String(row.key_id)) }
  }

  async function refused(t: TestTenant, backupId: string, reason: RegExp) {
    const ops = await operator()
    const before = await tenantState(t.id)
    const verified = await call('POST', `/ops/v1/backups/${backupId}/verify`, { token: ops })
    expect(verified.status).toBe(200)
    expect(verified.body.ok).toBe(false)
    expect(verified.body.verify_result).toMatch(reason)
    const restore = await call('POST', `/ops/v1/backups/${backupId}/restore`, { token: ops, body: {} })
    expectProblem(restore, 422, 'backup-corrupt')
    expect(await tenantState(t.id)).toEqual(before)
    expect((await schemaTables()).filter((n) => n.startsWith('_restore_'))).toEqual([])
  }

  it('verifies an untouched generation', async () => {
    const { row } = await tenantWithBackup()
    const ops = await operator()
    const verified = await call('POST', `/ops/v1/backups/${row.id}/verify`, { token: ops })
    expect(verified.status).toBe(200)
    expect(verified.body).toMatchObject({ id: row.id, ok: true, verify_result: 'ok', verified_at: expect.any(String) })
  })

  it('detects one changed ciphertext byte, and refuses to restore it, changing nothing', async () => {
    const { t, row, key, HEADER_BYTES } = await tenantWithBackup()
    const bytes = await objectBytes(key)
    bytes[HEADER_BYTES + SEALED_SEGMENT + 100]! ^= 0x01
    await env.BACKUPS.put(key, bytes)
    await refused(t, row.id, /does not decrypt|SHA-256/)
  })

  it('detects truncation: the last segment dropped', async () => {
    const { t, row, key, HEADER_BYTES } = await tenantWithBackup()
    const bytes = await objectBytes(key)
    const segments = Math.ceil((bytes.length - HEADER_BYTES) / SEALED_SEGMENT)
    expect(segments).toBeGreaterThan(1)
    await env.BACKUPS.put(key, bytes.subarray(0, HEADER_BYTES + (segments - 1) * SEALED_SEGMENT))
    await refused(t, row.id, /cut short/)
  })

  it('detects reordered segments', async () => {
    const { t, row, key, HEADER_BYTES } = await tenantWithBackup()
    const bytes = await objectBytes(key)
    const first = bytes.slice(HEADER_BYTES, HEADER_BYTES + SEALED_SEGMENT)
    const second = bytes.slice(HEADER_BYTES + SEALED_SEGMENT, HEADER_BYTES + 2 * SEALED_SEGMENT)
    const swapped = bytes.slice()
    swapped.set(second, HEADER_BYTES)
    swapped.set(first, HEADER_BYTES + SEALED_SEGMENT)
    await env.BACKUPS.put(key, swapped)
    await refused(t, row.id, /segment 0 does not open/)
  })

  it('refuses a generation of another tenant swapped in (wrong key and identity)', async () => {
    const one = await tenantWithBackup()
    const two = await tenantWithBackup()
    await env.BACKUPS.put(one.key, await objectBytes(two.key))
    await refused(one.t, one.row.id, /does not decrypt/)
  })

  it('refuses a damaged generation into a new slug after rows were written, and leaves no tenant, row or file behind', async () => {
    const t = await tenantWithAdmin()
    await addFile(t, 'kept.txt', 'a file the restore would copy')
    for (let i = 0; i < 30; i++) await addRecord(t, { i, body: 'x'.repeat(5000) })
    const row = await backupNow(t)
    const dataKey = backupKeys.data(t.id, row.id)
    // The last segment: every table before it has been written by the time it fails.
    const original = await objectBytes(dataKey)
    const bytes = original.slice()
    bytes[bytes.length - 20]! ^= 0x01
    await env.BACKUPS.put(dataKey, bytes)
    const count = async () => ({
      tenants: await env.DB.prepare('SELECT count(*) AS n FROM tenants').first('n'),
      users: await env.DB.prepare('SELECT count(*) AS n FROM users').first('n'),
      records: await env.DB.prepare('SELECT count(*) AS n FROM records').first('n'),
      files: await env.DB.prepare('SELECT count(*) AS n FROM files').first('n'),
      objects: await listAll(env.FILES, 'tenants/'),
    })
    const before = await count()
    const ops = await operator()
    const slug = `dr-${crypto.randomUUID().slice(0, 8)}`
    expectProblem(await call('POST', `/ops/v1/backups/${row.id}/restore`, { token: ops, body: { target_slug: slug } }), 422, 'backup-corrupt')
    expect(await env.DB.prepare('SELECT id FROM tenants WHERE slug = ?').bind(slug).first()).toBeNull()
    expect(await count()).toEqual(before)
    expect((await schemaTables()).filter((n) => n.startsWith('_restore_'))).toEqual([])
    // Undamaged, the same generation restores into the same slug.
    await env.BACKUPS.put(dataKey, original)
    const good = await call('POST', `/ops/v1/backups/${row.id}/restore`, { token: ops, body: { target_slug: slug } })
    expect(good.status).toBe(200)
  })

  it('refuses a generation whose file copy is damaged, in place: no file object, no safety snapshot, nothing changed', async () => {
    const t = await tenantWithAdmin()
    const file = await addFile(t, 'contract.txt', 'the signed contract')
    const row = await backupNow(t)
    expect((await call('DELETE', `/api/v1/files/${file.id}`, { token: t.adminToken })).status).toBe(204)
    const [blob] = await listAll(env.BACKUPS, backupKeys.blobPrefix(t.id))
    const bytes = await objectBytes(blob!)
    bytes[bytes.length - 1]! ^= 0x01
    await env.BACKUPS.put(blob!, bytes)
    const before = await tenantState(t.id)
    const ops = await operator()
    const restore = await call('POST', `/ops/v1/backups/${row.id}/restore`, { token: ops, body: {} })
    expectProblem(restore, 422, 'backup-corrupt')
    expect(restore.body.detail).toMatch(/file copy/)
    expect(await tenantState(t.id)).toEqual(before)
    expect(await env.FILES.head(`tenants/${t.id}/files/${file.id}`)).toBeNull()
    expect(await env.DB.prepare("SELECT count(*) AS n FROM backups WHERE tenant_id = ? AND kind = 'safety'").bind(t.id).first('n')).toBe(0)
    expect((await schemaTables()).filter((n) => n.startsWith('_restore_'))).toEqual([])
  })

  it('restores in place: a deleted record and a deleted file come back, after a safety snapshot', async () => {
    const t = await tenantWithAdmin()
    const record = await addRecord(t, { title: 'keep me' })
    const file = await addFile(t, 'contract.txt', 'the signed contract')
    const row = await backupNow(t)
    const storage = await env.DB.prepare('SELECT storage_used_bytes AS n FROM tenants WHERE id = ?').bind(t.id).first<{ n: number }>()
    expect((await call('DELETE', `/api/v1/records/${record.id}`, { token: t.adminToken })).status).toBe(204)
    expect((await call('DELETE', `/api/v1/files/${file.id}`, { token: t.adminToken })).status).toBe(204)
    const later = await addRecord(t, { title: 'after the backup' })
    expect(await env.FILES.head(`tenants/${t.id}/files/${file.id}`)).toBeNull()
    const ops = await operator()
    // The contract changed after the backup: a restore of the tenant's data does not undo it.
    expect((await call('PATCH', `/ops/v1/tenants/${t.id}`, { token: ops, body: { plan: 'enterprise' } })).status).toBe(200)

    const restored = await call('POST', `/ops/v1/backups/${row.id}/restore`, { token: ops, body: {} })
    expect(restored.status).toBe(200)
    expect(restored.body).toMatchObject({ backup_id: row.id, mode: 'in_place', tenant_id: t.id, slug: t.slug, files: 1, safety_backup_id: expect.stringMatching(/^bk_/) })

    expect(await env.DB.prepare('SELECT plan_id, slug, status, storage_used_bytes FROM tenants WHERE id = ?').bind(t.id).first()).toEqual({
      plan_id: 'enterprise',
      slug: t.slug,
      status: 'active',
      storage_used_bytes: storage!.n,
    })
    const back = await call('GET', `/api/v1/records/${record.id}`, { token: t.adminToken })
    expect(back.status).toBe(200)
    expect(back.body.data).toEqual({ title: 'keep me' })
    expect((await call('GET', `/api/v1/records/${later.id}`, { token: t.adminToken })).status).toBe(404)
    const files = await call('GET', '/api/v1/files', { token: t.adminToken })
    expect(files.body.items.map((f: any) => f.id)).toEqual([file.id])
    expect(await (await env.FILES.get(`tenants/${t.id}/files/${file.id}`))!.text()).toBe('the signed contract')

    // The safety snapshot holds the state the restore replaced, and is itself verified.
    const safety = await env.DB.prepare('SELECT kind, status, verify_result, row_counts FROM backups WHERE id = ?').bind(restored.body.safety_backup_id).first<any>()
    expect(safety).toMatchObject({ kind: 'safety', status: 'complete', verify_result: 'ok' })
    expect(JSON.parse(safety.row_counts).records).toBe(1)
    const event = await env.DB.prepare("SELECT details FROM audit_events WHERE chain = ? AND action = 'backup.restored'").bind(t.id).first<any>()
    expect(JSON.parse(event.details)).toMatchObject({ mode: 'in_place', safety_backup_id: restored.body.safety_backup_id })
    expect((await schemaTables()).filter((n) => n.startsWith('_restore_'))).toEqual([])
  })

  it('restores into a new slug: a working tenant whose admin signs in, with its own records and files', async () => {
    const t = await tenantWithAdmin()
    const record = await addRecord(t, { title: 'drill' })
    await addFile(t, 'drill.txt', 'drill file')
    const row = await backupNow(t)
    const ops = await operator()
    const slug = `dr-${crypto.randomUUID().slice(0, 8)}`
    const restored = await call('POST', `/ops/v1/backups/${row.id}/restore`, { token: ops, body: { target_slug: slug } })
    expect(restored.status).toBe(200)
    expect(restored.body).toMatchObject({ mode: 'new_tenant', slug, safety_backup_id: null, files: 1 })
    const newId = restored.body.tenant_id
    expect(newId).not.toBe(t.id)

    const login = await call('POST', '/api/v1/auth/login', { body: { tenant: slug, email: t.adminEmail, password: t.adminPassword } })
    expect(login.status).toBe(200)
    let token = login.body.token
    if (login.body.status === 'mfa_required') {
      const mfa = await call('POST', '/api/v1/auth/mfa', { body: { challenge: login.body.challenge, code: await lastCode(t.adminEmail) } })
      expect(mfa.body.status).toBe('ok')
      token = mfa.body.token
    }
    expect(token).toEqual(expect.any(String))
    const records = await call('GET', '/api/v1/records', { token })
    expect(records.body.items.map((r: any) => r.data)).toEqual([{ title: 'drill' }])
    expect(records.body.items[0].id).not.toBe(record.id)
    const files = await call('GET', '/api/v1/files', { token })
    expect(files.body.items).toHaveLength(1)
    expect(await (await env.FILES.get(`tenants/${newId}/files/${files.body.items[0].id}`))!.text()).toBe('drill file')
    // The source is untouched and still has its own record.
    expect((await call('GET', `/api/v1/records/${record.id}`, { token: t.adminToken })).status).toBe(200)
    expect((await call('POST', `/ops/v1/backups/${row.id}/restore`, { token: ops, body: { target_slug: slug } })).status).toBe(409)
  })
})

describe('generations written before the header named the ID kinds', () => {
  it('still restore into a new slug: the kinds are learnt on the way, and references between rows still meet', async () => {
    const t = await tenantWithAdmin()
    await addRecord(t, { title: 'old format' })
    // A reference met before the table it points to: the tenant row (written first) naming an account.
    const admin = (await env.DB.prepare('SELECT id FROM users WHERE tenant_id = ? ORDER BY id LIMIT 1').bind(t.id).first<{ id: string }>())!.id
    await env.DB.prepare('UPDATE tenants SET name = ? WHERE id = ?').bind(admin, t.id).run()
    const row = await backupNow(t)
    // Rewrite the generation as an older build wrote it: the same rows, no `id_kinds` in the header.
    const key = backupKeys.data(t.id, row.id)
    let text = ''
    const decoder = new TextDecoder()
    await readSealedObject(env, t.id, key, identities.snapshot(t.id, row.id), (piece) => void (text += decoder.decode(piece, { stream: true })))
    const [head, ...rest] = text.split('\n')
    const header = JSON.parse(head!)
    expect(header.id_kinds).toMatchObject({ users: 'usr', records: 'rec' })
    delete header.id_kinds
    const writer = new SealedObjectWriter(env, t.id, key, identities.snapshot(t.id, row.id))
    await writer.write(new TextEncoder().encode([JSON.stringify(header), ...rest].join('\n')))
    const summary = await writer.close()
    await env.DB.prepare('UPDATE backups SET plaintext_sha256 = ?, ciphertext_sha256 = ?, plaintext_bytes = ?, ciphertext_bytes = ? WHERE id = ?')
      .bind(summary.plaintextSha256, summary.ciphertextSha256, summary.plaintextBytes, summary.ciphertextBytes, row.id)
      .run()
    const manifestKey = backupKeys.manifest(t.id, row.id)
    const manifest = JSON.parse(await (await env.BACKUPS.get(manifestKey))!.text())
    await env.BACKUPS.put(
      manifestKey,
      JSON.stringify({
        ...manifest,
        plaintext_sha256: summary.plaintextSha256,
        ciphertext_sha256: summary.ciphertextSha256,
        plaintext_bytes: summary.plaintextBytes,
        ciphertext_bytes: summary.ciphertextBytes,
      }),
    )

    const ops = await operator()
    const slug = `dr-${crypto.randomUUID().slice(0, 8)}`
    const restored = await call('POST', `/ops/v1/backups/${row.id}/restore`, { token: ops, body: { target_slug: slug } })
    expect(restored.status).toBe(200)
    const tenantId = restored.body.tenant_id
    const users = (await env.DB.prepare('SELECT id FROM users WHERE tenant_id = ?').bind(tenantId).all<{ id: string }>()).results.map((u) => u.id)
    const source = (await env.DB.prepare('SELECT id FROM users WHERE tenant_id = ?').bind(t.id).all<{ id: string }>()).results.map((u) => u.id)
    expect(users).toHaveLength(source.length)
    for (const id of users) expect(source).not.toContain(id)
    const records = (await env.DB.prepare('SELECT id, created_by FROM records WHERE tenant_id = ?').bind(tenantId).all<{ id: string; created_by: string }>()).results
    expect(records).toHaveLength(1)
    expect(users).toContain(records[0]!.created_by.replace(/^user:/, ''))
    // No row of the copy, in any table, still names a source account (a reference met before its table was).
    const copy = JSON.stringify(await tenantState(tenantId))
    for (const id of source) expect(copy).not.toContain(id)
    const name = (await env.DB.prepare('SELECT name FROM tenants WHERE id = ?').bind(tenantId).first<{ name: string }>())!.name
    expect(users).toContain(name)
    const login = await call('POST', '/api/v1/auth/login', { body: { tenant: slug, email: t.adminEmail, password: t.adminPassword } })
    expect(login.status).toBe(200)
  })
})

describe('re-keying for a new tenant', () => {
  it('gives every ID of the tenant\u2019s kinds a new random part, keeps time part and order, and leaves other kinds alone', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => newId('rec', Date.UTC(2026, 0, 1) + (i >> 4)))
    ids.push('rec_0000000000zzzzzzzzzzzzzzzz', 'rec_00000000000000000000000000')
    ids.sort()
    const remap = remapper('tn_source', 'tn_target', randomShift(), new Set(['rec', 'usr']), null)
    const mapped = ids.map((id) => remap(id) as string)
    expect(new Set(mapped).size).toBe(ids.length)
    for (let i = 0; i < ids.length; i++) {
      expect(mapped[i]).not.toBe(ids[i])
      expect(mapped[i]!.slice(0, 14)).toBe(ids[i]!.slice(0, 14))
      expect(mapped[i]).toMatch(/^rec_[0-9a-hjkmnp-tv-z]{26}$/)
    }
    // Sorted in, sorted out, except where the offset wraps around within one time part: at most one break per time part.
    let breaks = 0
    for (let i = 1; i < mapped.length; i++) if (mapped[i]! < mapped[i - 1]!) breaks++
    expect(breaks).toBeLessThanOrEqual(new Set(ids.map((id) => id.slice(0, 14))).size)
    expect(remap('user:' + ids[0])).toBe('user:' + mapped[0])
    expect(remap('tn_source')).toBe('tn_target')
    const operatorId = newId('op')
    expect(remap(operatorId)).toBe(operatorId)
    expect(remap('system:bench')).toBe('system:bench')
  })
})

describe('retention', () => {
  function gen(daysAgo: number, good: boolean) {
    return {
      id: newId('bk', Date.UTC(2030, 0, 1) - daysAgo * 86_400_000),
      status: good ? 'complete' : 'failed',
      verifyResult: good ? 'ok' : null,
    } as any
  }

  it('keeps the newest 14 good generations and removes older ones', () => {
    const rows = Array.from({ length: 20 }, (_, i) => gen(i, true))
    const expired = expiredGenerations(rows)
    expect(expired.map((r) => r.id)).toEqual(rows.slice(KEEP_GENERATIONS).map((r) => r.id))
  })

  it('never removes an older good generation because newer runs failed', () => {
    const failures = Array.from({ length: 20 }, (_, i) => gen(i, false))
    const good = Array.from({ length: 10 }, (_, i) => gen(30 + i, true))
    expect(expiredGenerations([...failures, ...good])).toEqual([])
  })

  it('runs after each snapshot and removes expired generations and the file copies only they referred to', async () => {
    const t = await tenantWithAdmin()
    const oldBlob = 'a'.repeat(64)
    await env.BACKUPS.put(backupKeys.blob(t.id, oldBlob), 'sealed bytes')
    const insert = (id: string, date: string) =>
      env.DB.prepare("INSERT INTO backups (id, tenant_id, jst_date, kind, status, format_version, verify_result, created_at) VALUES (?, ?, ?, 'daily', 'complete', 1, 'ok', ?)")
        .bind(id, t.id, date, new Date().toISOString())
        .run()
    const ids: string[] = []
    for (let i = 0; i < KEEP_GENERATIONS; i++) {
      const id = newId('bk', Date.now() - (KEEP_GENERATIONS - i) * 86_400_000)
      ids.push(id)
      await insert(id, `2020-01-${String(i + 1).padStart(2, '0')}`)
    }
    await env.DB.prepare('INSERT INTO backup_blobs (backup_id, tenant_id, sha256) VALUES (?, ?, ?)').bind(ids[0], t.id, oldBlob).run()
    await backupNow(t)
    const left = (await env.DB.prepare('SELECT id FROM backups WHERE tenant_id = ? ORDER BY id').bind(t.id).all<{ id: string }>()).results.map((r) => r.id)
    expect(left).toHaveLength(KEEP_GENERATIONS)
    expect(left).not.toContain(ids[0])
    expect(await env.BACKUPS.head(backupKeys.blob(t.id, oldBlob))).toBeNull()
    const expired = await env.DB.prepare("SELECT target_id FROM audit_events WHERE chain = ? AND action = 'backup.expired'").bind(t.id).all()
    expect(expired.results).toEqual([{ target_id: ids[0] }])
  })
})

describe('who sees backups', () => {
  it('shows a tenant admin its own generations with their verification, and nobody else\u2019s', async () => {
    const t = await tenantWithAdmin()
    const other = await tenantWithAdmin()
    const row = await backupNow(t)
    await backupNow(other)
    const mine = await call('GET', '/api/v1/backups', { token: t.adminToken })
    expect(mine.status).toBe(200)
    expect(mine.body.items.map((b: any) => b.id)).toEqual([row.id])
    expect(mine.body.items[0]).toMatchObject({ tenant_id: t.id, status: 'complete', verify_result: 'ok', verified_at: expect.any(String) })
    expect(mine.body.items[0]).not.toHaveProperty('error')
    const member = await userOf(t)
    expect((await call('GET', '/api/v1/backups', { token: member.token })).status).toBe(403)
  })

  it('gives the SLA report its backup rows from the catalogue: the newest generation, verification, snapshot time, key', async () => {
    const t = await tenantWithAdmin()
    const row = await backupNow(t)
    const reply = await call('GET', '/api/v1/sla', { token: t.adminToken })
    expect(reply.status).toBe(200)
    const rowOf = (id: string) => reply.body.rows.find((r: { id: string }) => r.id === id)
    expect(rowOf('DM-1')).toMatchObject({ status: 'met', value: { last_complete_at: row.completed_at, generations: 1, keep: 14 } })
    expect(rowOf('DM-3')).toMatchObject({ status: 'met', value: { generations: 1, verified_generations: 1, last_verify_result: 'ok' } })
    expect(rowOf('SE-11')).toMatchObject({ status: 'met', value: { algorithm: 'AES-256-GCM', last_key_id: row.key_id } })
    expect(rowOf('PF-3').status).toBe('met')
    expect(rowOf('PF-3').value.snapshots).toBe(1)
    expect(rowOf('PF-3').value.average_seconds).toBeLessThanOrEqual(5)
    expect(rowOf('AV-6')).toMatchObject({ status: 'met', value: { restores_this_month: 0, generations: 1 } })
  })

  it('keeps /ops backups routes to operators', async () => {
    const t = await tenantWithAdmin()
    expect((await call('GET', '/ops/v1/backups', { token: t.adminToken })).status).toBe(401)
    expect((await call('POST', '/ops/v1/backups', { token: t.adminToken, body: {} })).status).toBe(401)
  })

  it('lists one tenant\u2019s generations for operators, paged', async () => {
    const t = await tenantWithAdmin()
    const row = await backupNow(t)
    const ops = await operator()
    const page = await call('GET', `/ops/v1/backups?tenant_id=${t.id}&limit=1`, { token: ops })
    expect(page.status).toBe(200)
    expect(page.body.items.map((b: any) => b.id)).toEqual([row.id])
    expect((await call('GET', '/ops/v1/backups?tenant_id=nope', { token: ops })).status).toBe(422)
    expect((await call('POST', '/ops/v1/backups/bk_nope/verify', { token: ops })).status).toBe(404)
  })
})

describe('sealed objects larger than one part', () => {
  it('go up as a multipart upload of 5 MiB parts and read back byte for byte', async () => {
    const t = await tenantWithAdmin()
    const key = backupKeys.blob(t.id, 'f'.repeat(64))
    const identity = identities.blob(t.id, 'f'.repeat(64))
    // 17 MiB of distinct bytes: three full parts and a short last one, two of them in flight at a time.
    const writer = new SealedObjectWriter(env, t.id, key, identity)
    const written = new Uint8Array(17 * 1024 * 1024)
    for (let at = 0; at < written.length; at += 65536) crypto.getRandomValues(written.subarray(at, at + 65536))
    for (let at = 0; at < written.length; at += 1024 * 1024) await writer.write(written.slice(at, at + 1024 * 1024))
    const summary = await writer.close()

    const object = (await env.BACKUPS.head(key))!
    expect(object.etag).toMatch(/^[0-9a-f]{32}-4$/)
    expect(object.size).toBe(summary.ciphertextBytes)
    const read = new Uint8Array(written.length)
    let at = 0
    const opened = await readSealedObject(env, t.id, key, identity, (piece) => {
      read.set(piece, at)
      at += piece.length
    })
    expect(at).toBe(written.length)
    expect(read).toEqual(written)
    expect(opened).toEqual(summary)
  })
})
