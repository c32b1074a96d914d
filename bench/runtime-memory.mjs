// npm run bench:runtime-memory: the control for bench:backup's memory figures. The same bytes as a
// snapshot, its verification and a restore (records of about 500 bytes; D1 pages of 1,000 rows; R2
// multipart in 5 MiB parts; json_each inserts of 512 KB, eight per batch), moved through the same local
// D1 and R2 by a worker with none of Mamori's code (bench/bare-runtime/worker.js: no sealing, hashing,
// workflow or audit), at 10,000 and 100,000 records, each size on a fresh dev server and state.
// What this runtime's RSS does here, it does for any code that moves these bytes.
// Options (env): BACKUP_SIZES (default "10000,100000"), BENCH_PORT (8796).
import { spawn } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { benchEnv } from './dev-server.mjs'
import { idleRss, mb, sampled } from './workerd-memory.mjs'

const sizes = (process.env.BACKUP_SIZES ?? '10000,100000').split(',').map(Number)
const port = Number(process.env.BENCH_PORT ?? 8796)
const state = '.wrangler/bench-bare-state'
const base = `http://127.0.0.1:${port}`

async function start() {
  rmSync(state, { recursive: true, force: true })
  const server = spawn(
    'wrangler',
    ['dev', '--config', 'bench/bare-runtime/wrangler.toml', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', state, '--inspector-port', '0', '--log-level', 'warn', '--show-interactive-dev-session=false'],
    { env: benchEnv, stdio: 'ignore', detached: true },
  )
  const stop = () => {
    try {
      process.kill(-server.pid, 'SIGTERM')
    } catch {}
  }
  process.on('exit', stop)
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return { pid: server.pid, stop }
    } catch {}
    await new Promise((r) => setTimeout(r, 500))
  }
  throw new Error('the bare worker did not start')
}

async function step(path) {
  const res = await fetch(`${base}${path}`)
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  await res.text()
}

const rows = []
for (const n of sizes) {
  const { pid, stop } = await start()
  await step(`/seed?n=${n}`)
  const idle = await idleRss(pid)
  const peaks = {}
  for (const name of ['snapshot', 'verify', 'restore']) peaks[name] = mb((await sampled(pid, () => step(`/${name}`))).peak)
  const after = await idleRss(pid)
  rows.push({ records: n, idle_before_mb: mb(idle.rss), ...Object.fromEntries(Object.entries(peaks).map(([k, v]) => [`peak_${k}_mb`, v])), idle_after_mb: mb(after.rss), anon_growth_mb: mb(after.anon - idle.anon) })
  stop()
  await new Promise((r) => setTimeout(r, 2000))
}

console.log('\n| records | idle RSS before | peak snapshot | peak verify | peak restore | idle after | growth that is anonymous |')
console.log('|---|---|---|---|---|---|---|')
for (const r of rows) console.log(`| ${r.records} | ${r.idle_before_mb} | ${r.peak_snapshot_mb} | ${r.peak_verify_mb} | ${r.peak_restore_mb} | ${r.idle_after_mb} | ${r.anon_growth_mb} |`)
const peak = (r) => Math.max(r.peak_snapshot_mb, r.peak_verify_mb, r.peak_restore_mb)
const [small, large] = [rows[0], rows.at(-1)]
const summary = { peak_ratio: +(peak(large) / peak(small)).toFixed(2), growth_ratio: +((peak(large) - large.idle_before_mb) / Math.max(1, peak(small) - small.idle_before_mb)).toFixed(2) }
console.log(`\n${large.records} against ${small.records}: ${JSON.stringify(summary)}`)
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/runtime-memory.json', JSON.stringify({ at: new Date().toISOString(), rows, summary }, null, 2))
process.exit(0)
