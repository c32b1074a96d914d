// npm run bench:backup: snapshot and restore time and the local runtime's peak memory
// for a tenant of 10,000 and one of 100,000 records of about 500 bytes (PF-3).
// Per size, a fresh local dev server (own state directory): creates the tenant through
// the operator API, seeds its records straight into the local D1 (one INSERT … SELECT
// over a recursive CTE, from a separate `wrangler d1 execute` process: seeding through
// the API would take longer than the measurement), then:
//   1. POST /ops/v1/backups {tenant_id}: the snapshot workflow runs (snapshot, verify,
//      retention); snapshot time = the generation's completed_at − created_at, and the
//      wall time until the catalogue says verified;
//   2. POST /ops/v1/backups/{id}/restore {target_slug}: the disaster-recovery drill into
//      a new tenant (one pass: decrypt, authenticate, write; then one switch), timed end to end;
//   3. a second snapshot, of the restored copy (the same rows), with the runtime warm;
// while sampling the resident memory (RSS) of the workerd processes under the dev server,
// and the idle RSS before seeding, after seeding and after each step. "Own" is a step's
// peak minus the idle RSS just before it: the memory the step itself needs, as opposed to
// what the local runtime (local D1's SQLite, local R2, V8's heap high-water mark) keeps.
// Goals: snapshot of 100k ≤ 5 s; peak RSS at 100k within 1.2× of 10k; restore ≤ 2× snapshot.
// `npm run bench:runtime-memory` is the control for the memory goal: the same bytes through the same
// local bindings without Mamori's code.
// Prints Markdown tables and writes bench/results/backup.json.
// Options (env): BACKUP_SIZES (default "10000,100000"; a size past 100k adds its ratio to 100k's peak),
// BENCH_PORT (8797), BENCH_INSPECTOR_PORT (the dev server's inspector, 9229 by default when no other dev
// server holds it: adds the isolate's V8 heap after the inspector's GC, an upper bound of what is live).
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { SIGN_IN_CODE, benchEnv, startDevServer } from './dev-server.mjs'
import { idleRss, mb, sampled } from './workerd-memory.mjs'

const sizes = (process.env.BACKUP_SIZES ?? '10000,100000').split(',').map(Number)
const port = Number(process.env.BENCH_PORT ?? 8797)
const state = '.wrangler/bench-backup-state'

// One fresh server (and state) per size: the runtime keeps memory it once used, so a size measured after another
// would start from the first one's high-water mark.
let base, stop, serverPid, ops

let ip = 0
async function api(method, path, { token, body } = {}) {
  const headers = { 'CF-Connecting-IP': `192.0.2.${(ip++ % 200) + 1}` }
  if (token) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

async function mailedCode(to) {
  const mailbox = await api('GET', '/dev/mailbox')
  const mail = mailbox.items.find((m) => m.to === to && SIGN_IN_CODE.test(m.text ?? m.body))
  return (mail.text ?? mail.body).match(SIGN_IN_CODE)[1]
}

async function operatorToken() {
  const email = 'ops@example.com'
  const first = await api('POST', '/ops/v1/auth/login', { body: { email, password: 'mamori-ops-demo-2026' } })
  return (await api('POST', '/ops/v1/auth/mfa', { body: { challenge: first.challenge, code: await mailedCode(email) } })).token
}

/**
 * With BENCH_INSPECTOR_PORT (the dev server's --inspector-port), the worker isolate's V8 heap after a full GC,
 * through the inspector protocol: what of the RSS is JavaScript objects (ours) rather than the runtime's own
 * memory (local D1's SQLite, local R2, allocator high-water marks). Null without it. With `snapshot`, also
 * `live`: the bytes a heap snapshot finds reachable (the inspector's GC alone leaves some garbage counted).
 */
async function isolateHeap({ snapshot = false } = {}) {
  const port = process.env.BENCH_INSPECTOR_PORT
  if (!port) return null
  try {
    // The inspector proxy wants an Origin header, which Node's own WebSocket does not send; `ws` (wrangler's) does.
    const { default: WS } = await import('ws')
    const ws = new WS(`ws://127.0.0.1:${port}/ws`, { headers: { Origin: 'http://127.0.0.1' }, maxPayload: 2 ** 30 })
    await new Promise((resolve, reject) => (ws.on('open', resolve), ws.on('error', reject)))
    const chunks = []
    const answers = new Map()
    ws.on('message', (data) => {
      const message = JSON.parse(String(data))
      if (message.method === 'HeapProfiler.addHeapSnapshotChunk') chunks.push(message.params.chunk)
      else if (message.id) answers.get(message.id)?.(message.result)
    })
    const call = (id, method, ms) =>
      new Promise((resolve, reject) => {
        answers.set(id, resolve)
        ws.send(JSON.stringify({ id, method }))
        setTimeout(() => reject(new Error(`no answer from the inspector to ${method}`)), ms)
      })
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }))
    const usage = await call(2, 'Runtime.getHeapUsage', 10000)
    const heap = { used: usage.usedSize, total: usage.totalSize }
    // What is live for certain: a heap snapshot collects everything unreachable first; its nodes' own sizes, summed.
    if (snapshot) {
      await call(3, 'HeapProfiler.takeHeapSnapshot', 300000)
      const { snapshot: meta, nodes } = JSON.parse(chunks.join(''))
      const width = meta.meta.node_fields.length
      const at = meta.meta.node_fields.indexOf('self_size')
      heap.live = 0
      for (let i = at; i < nodes.length; i += width) heap.live += nodes[i]
    }
    ws.close()
    return heap
  } catch (error) {
    return { error: String(error) }
  }
}

/** Starts the snapshot workflow for one tenant and waits until the catalogue says it is complete and verified. */
async function snapshotOf(tenantId) {
  const started = performance.now()
  await api('POST', '/ops/v1/backups', { token: ops, body: { tenant_id: tenantId } })
  for (;;) {
    const page = await api('GET', `/ops/v1/backups?tenant_id=${tenantId}&limit=1`, { token: ops })
    const b = page.items[0]
    if (b?.status === 'failed') throw new Error(`snapshot failed: ${b.error}`)
    if (b?.status === 'complete' && b.verify_result) return { backup: b, wall: performance.now() - started }
    await new Promise((r) => setTimeout(r, 100))
  }
}

let seeded = 0
function seed(tenantId, n) {
  // ~500 bytes per record: a 480-character body plus the JSON around it. IDs are unique across the bench's tenants.
  const from = seeded
  seeded += n
  const sql =
    `WITH RECURSIVE n(i) AS (SELECT ${from + 1} UNION ALL SELECT i + 1 FROM n WHERE i < ${from + n}) ` +
    `INSERT INTO records (id, tenant_id, collection, data, created_at, updated_at, created_by, updated_by) ` +
    `SELECT printf('rec_%026d', i), '${tenantId}', 'bench', json_object('i', i, 'body', hex(randomblob(240))), ` +
    `'2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'system:bench', 'system:bench' FROM n`
  const run = spawnSync('wrangler', ['d1', 'execute', 'DB', '--local', '--persist-to', state, '--json', '--command', sql], { env: benchEnv, encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`seeding failed: ${run.stdout} ${run.stderr}`)
}

const rows = []
for (const n of sizes) {
  ;({ base, stop, pid: serverPid } = await startDevServer({ port, state }))
  ops = await operatorToken()
  const slug = `bench-${n}-${Date.now().toString(36)}`
  const created = await api('POST', '/ops/v1/tenants', {
    token: ops,
    body: { slug, name: `Bench ${n}`, plan: 'enterprise', contact_email: `contact@${slug}.example`, admin: { email: `admin@${slug}.example`, name: 'Admin' } },
  })
  const tenantId = created.tenant.id
  const idleBeforeSeed = await idleRss(serverPid)
  seed(tenantId, n)
  const idleAfterSeed = await idleRss(serverPid)
  const heapAfterSeed = await isolateHeap()

  const snap = await sampled(serverPid, () => snapshotOf(tenantId))
  const { backup } = snap.result
  if (backup.verify_result !== 'ok') throw new Error(`verification failed: ${backup.verify_result}`)
  const snapshotMs = Date.parse(backup.completed_at) - Date.parse(backup.created_at)
  const idleAfterSnapshot = await idleRss(serverPid)
  const heapAfterSnapshot = await isolateHeap()

  const restore = await sampled(serverPid, async () => {
    const started = performance.now()
    const done = await api('POST', `/ops/v1/backups/${backup.id}/restore`, { token: ops, body: { target_slug: `${slug}-dr` } })
    return { ms: performance.now() - started, tenantId: done.tenant_id }
  })
  const idleAfterRestore = await idleRss(serverPid)
  const heapAfterRestore = await isolateHeap()

  // The same snapshot again, of the restored copy (same rows), with the runtime already warm: what is left of
  // the peak above the idle RSS is the snapshot's own transient footprint.
  const again = await sampled(serverPid, () => snapshotOf(restore.result.tenantId))
  const idleAfterSecond = await idleRss(serverPid)
  const heapAfterSecond = await isolateHeap({ snapshot: true })

  rows.push({
    records: n,
    rows_in_snapshot: Object.values(backup.row_counts).reduce((a, b) => a + b, 0),
    ciphertext_mb: +(backup.ciphertext_bytes / 1048576).toFixed(1),
    snapshot_s: +(snapshotMs / 1000).toFixed(2),
    snapshot_and_verify_wall_s: +(snap.result.wall / 1000).toFixed(2),
    restore_s: +(restore.result.ms / 1000).toFixed(2),
    peak_rss_snapshot_mb: mb(snap.peak),
    peak_rss_restore_mb: mb(restore.peak),
    idle_rss_before_seed_mb: mb(idleBeforeSeed.rss),
    idle_rss_after_seed_mb: mb(idleAfterSeed.rss),
    idle_rss_after_snapshot_mb: mb(idleAfterSnapshot.rss),
    idle_rss_after_restore_mb: mb(idleAfterRestore.rss),
    // Ours: the peak above the idle RSS just before (after seeding), first with a cold runtime, then warm.
    snapshot_own_mb: mb(snap.peak - idleAfterSeed.rss),
    restore_own_mb: mb(restore.peak - idleAfterSnapshot.rss),
    second_snapshot_s: +((Date.parse(again.result.backup.completed_at) - Date.parse(again.result.backup.created_at)) / 1000).toFixed(2),
    second_snapshot_own_mb: mb(again.peak - idleAfterRestore.rss),
    idle_rss_after_second_snapshot_mb: mb(idleAfterSecond.rss),
    // What the growth is: anonymous memory (heaps), not mapped files.
    idle_anon_after_seed_mb: mb(idleAfterSeed.anon),
    idle_anon_after_snapshot_mb: mb(idleAfterSnapshot.anon),
    idle_file_after_seed_mb: mb(idleAfterSeed.file),
    idle_file_after_snapshot_mb: mb(idleAfterSnapshot.file),
    ...(heapAfterSeed && {
      isolate_heap_mb: Object.fromEntries(
        Object.entries({ after_seed: heapAfterSeed, after_snapshot: heapAfterSnapshot, after_restore: heapAfterRestore, after_second_snapshot: heapAfterSecond }).map(([k, h]) => [
          k,
          h.error ? h.error : { used: mb(h.used), total: mb(h.total), ...(h.live !== undefined && { live_in_heap_snapshot: +(h.live / 1048576).toFixed(1) }) },
        ]),
      ),
    }),
  })
  stop()
  await new Promise((r) => setTimeout(r, 2000))
}

// The goals compare 10k with 100k (PF-3's sizes); a larger size, when asked for, shows whether memory keeps growing past 100k.
const small = rows.find((r) => r.records === 10000) ?? rows[0]
const large = rows.find((r) => r.records === 100000) ?? rows.at(-1)
const largest = rows.at(-1)
const peakOf = (r) => Math.max(r.peak_rss_snapshot_mb, r.peak_rss_restore_mb)
const goals = {
  snapshot_100k_le_5s: large.snapshot_s <= 5,
  memory_flat_1_2x: peakOf(large) <= 1.2 * peakOf(small),
  peak_ratio_100k_to_10k: +(peakOf(large) / peakOf(small)).toFixed(2),
  ...(largest.records > large.records && { [`peak_ratio_${largest.records / 1000}k_to_100k`]: +(peakOf(largest) / peakOf(large)).toFixed(2) }),
  // The same, for the share of the peak that is the snapshot's own (peak minus the idle RSS before it, warm runtime).
  own_memory_flat_1_2x: large.second_snapshot_own_mb <= 1.2 * Math.max(small.second_snapshot_own_mb, 1),
  restore_le_2x_snapshot: large.restore_s <= 2 * large.snapshot_s,
  restore_to_snapshot: +(large.restore_s / large.snapshot_s).toFixed(2),
}
const cpu = execFileSync('nproc', { encoding: 'utf8' }).trim()
console.log(`\n| records | rows | ciphertext MB | snapshot s | snapshot+verify wall s | restore s | peak RSS snapshot MB | peak RSS restore MB |`)
console.log(`|---|---|---|---|---|---|---|---|`)
for (const r of rows) {
  console.log(`| ${r.records} | ${r.rows_in_snapshot} | ${r.ciphertext_mb} | ${r.snapshot_s} | ${r.snapshot_and_verify_wall_s} | ${r.restore_s} | ${r.peak_rss_snapshot_mb} | ${r.peak_rss_restore_mb} |`)
}
console.log(`\n| records | idle RSS before seed | after seed | after snapshot | after restore | snapshot own (cold) | restore own | 2nd snapshot s | 2nd snapshot own (warm) | idle after 2nd |`)
console.log(`|---|---|---|---|---|---|---|---|---|---|`)
for (const r of rows) {
  console.log(
    `| ${r.records} | ${r.idle_rss_before_seed_mb} | ${r.idle_rss_after_seed_mb} | ${r.idle_rss_after_snapshot_mb} | ${r.idle_rss_after_restore_mb} | ${r.snapshot_own_mb} | ${r.restore_own_mb} | ${r.second_snapshot_s} | ${r.second_snapshot_own_mb} | ${r.idle_rss_after_second_snapshot_mb} |`,
  )
}
for (const r of rows) {
  console.log(`idle RSS, ${r.records}: anonymous ${r.idle_anon_after_seed_mb} → ${r.idle_anon_after_snapshot_mb} MB, file-backed ${r.idle_file_after_seed_mb} → ${r.idle_file_after_snapshot_mb} MB (after seeding → after the snapshot)`)
}
for (const r of rows) if (r.isolate_heap_mb) console.log(`isolate heap after GC, ${r.records}: ${JSON.stringify(r.isolate_heap_mb)}`)
console.log(`\ngoals: ${JSON.stringify(goals)} (${cpu} cores)`)
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/backup.json', JSON.stringify({ at: new Date().toISOString(), cores: cpu, rows, goals }, null, 2))
process.exit(0)
