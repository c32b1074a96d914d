// npm run bench: starts its own local dev server (separate state directory),
// then measures with autocannon:
//   1. GET /health/live                      the bare baseline
//   2. GET /api/v1/records/{id} (signed in)  session check + tenant-scoped D1 read
//   3. POST /api/v1/auth/login               password sign-in (scrypt), low concurrency
//   4. sign-in latency, one at a time: password only, and password + e-mailed code
//      (login, then /auth/mfa; reading the code from /dev/mailbox is not counted)
// Prints a Markdown table for BENCHMARKS.md and writes bench/results/latest.json.
// Quotas are on: every signed-in read is counted in its session store against the demo
// tenant's per-minute, per-session and monthly limits (its contract limits are above what
// this sends); /health/live is the one route the per-address ceiling skips. Each sign-in
// phase comes from its own client address (CF-Connecting-IP), as separate clients would,
// so the ceiling of 300 anonymous requests a minute per address does not cut one short.
// Options (env): BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 10), BENCH_PORT (default 8799).
import autocannon from 'autocannon'
import { mkdirSync, writeFileSync } from 'node:fs'
import { SIGN_IN_CODE, startDevServer } from './dev-server.mjs'
import { cpus } from 'node:os'

const seconds = Number(process.env.BENCH_SECONDS ?? 10)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10)
const port = Number(process.env.BENCH_PORT ?? 8799)
const base = `http://127.0.0.1:${port}`
const state = '.wrangler/bench-state'

const { stop } = await startDevServer({ port, state })

/** Setup calls: a client address of their own. */
const SETUP_IP = '192.0.2.1'

async function json(path, init = {}) {
  const res = await fetch(`${base}${path}`, { ...init, headers: { 'CF-Connecting-IP': SETUP_IP, ...init.headers } })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return res.json()
}

function run(title, options) {
  return new Promise((resolve, reject) => {
    autocannon({ connections, duration: seconds, ...options }, (err, result) => {
      if (err) return reject(err)
      const bad = result.non2xx + result.errors + result.timeouts
      resolve({
        title,
        requests_per_second: Math.round(result.requests.average),
        p50_ms: result.latency.p50,
        p99_ms: result.latency.p99,
        total: result.requests.total,
        failed: bad,
        connections: options.connections ?? connections,
      })
    })
  })
}

await fetch(`${base}/health/ready`) // runs the development seed
const login = { tenant: 'demo', email: 'admin@demo.example', password: 'mamori-admin-demo-2026' }
const signedIn = await json('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(login) })
const auth = { authorization: `Bearer ${signedIn.token}` }
const record = await json('/api/v1/records', {
  method: 'POST',
  headers: { ...auth, 'content-type': 'application/json' },
  body: JSON.stringify({ collection: 'bench', data: { name: 'Benchmark KK', tier: 1 } }),
})

const results = []
results.push(await run('GET /health/live (baseline)', { url: `${base}/health/live` }))
results.push(await run('GET /api/v1/records/{id} (signed in)', { url: `${base}/api/v1/records/${record.id}`, headers: { ...auth, 'CF-Connecting-IP': '198.51.100.1' } }))
results.push(
  await run('POST /api/v1/auth/login (password)', {
    url: `${base}/api/v1/auth/login`,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'CF-Connecting-IP': '198.51.100.2' },
    body: JSON.stringify(login),
    connections: 2,
  }),
)

async function timed(work) {
  const started = performance.now()
  await work()
  return performance.now() - started
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

async function signInSeries(title, signIn, runs = Number(process.env.BENCH_SIGNINS ?? 30)) {
  const samples = []
  for (let i = 0; i < runs; i++) samples.push(await signIn())
  samples.sort((a, b) => a - b)
  return { title, runs, p50_ms: Math.round(percentile(samples, 50)), p99_ms: Math.round(percentile(samples, 99)) }
}

// Each measured sign-in signs out again (untimed), so the plan's session limit never interferes.
let seriesIp = SETUP_IP
const signOut = (token) =>
  fetch(`${base}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'CF-Connecting-IP': seriesIp } })
const post = (path, body) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'CF-Connecting-IP': seriesIp }, body: JSON.stringify(body) })
const member = { tenant: 'demo', email: 'user@demo.example', password: 'mamori-user-demo-2026' }
const memberSession = await json('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(member) })
await json('/api/v1/me/mfa/email', {
  method: 'POST',
  headers: { authorization: `Bearer ${memberSession.token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ current_password: member.password }),
})
const signIns = []
seriesIp = '198.51.100.3'
signIns.push(
  await signInSeries('password only (demo admin)', async () => {
    let token
    const t = await timed(async () => {
      const body = await (await post('/api/v1/auth/login', login)).json()
      if (body.status !== 'ok') throw new Error(`sign-in failed: ${JSON.stringify(body)}`)
      token = body.token
    })
    await signOut(token)
    return t
  }),
)
seriesIp = '198.51.100.4'
signIns.push(
  await signInSeries('password + e-mailed code (demo member)', async () => {
    let challenge
    const first = await timed(async () => {
      challenge = (await (await post('/api/v1/auth/login', member)).json()).challenge
    })
    const mailbox = await json('/dev/mailbox')
    const code = mailbox.items[0].text.match(SIGN_IN_CODE)[1]
    let token
    const second = await timed(async () => {
      const body = await (await post('/api/v1/auth/mfa', { challenge, code })).json()
      if (body.status !== 'ok') throw new Error(`second factor failed: ${JSON.stringify(body)}`)
      token = body.token
    })
    await signOut(token)
    return first + second
  }),
)
stop()

const ratio = results[1].requests_per_second / results[0].requests_per_second
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`
console.log(`\n${seconds}s per run, ${connections} connections (sign-in: 2), ${machine}\n`)
console.log('| route | req/s | p50 ms | p99 ms | requests | failed |')
console.log('|---|---|---|---|---|---|')
for (const r of results) console.log(`| ${r.title} | ${r.requests_per_second} | ${r.p50_ms} | ${r.p99_ms} | ${r.total} | ${r.failed} |`)
console.log(`\nsigned-in read / baseline = ${(ratio * 100).toFixed(1)} % (target ≥ 50 %, quotas on)`)
console.log('\n| sign-in, one at a time | runs | p50 ms | p99 ms |')
console.log('|---|---|---|---|')
for (const r of signIns) console.log(`| ${r.title} | ${r.runs} | ${r.p50_ms} | ${r.p99_ms} |`)
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/latest.json', JSON.stringify({ at: new Date().toISOString(), machine, seconds, connections, results, ratio, signIns }, null, 2))
process.exit(0)
