// npm run bench:noisy: one tenant floods at 10× its per-minute quota while another
// tenant runs its normal reads (AV-11). Starts its own local dev server (separate
// state directory), then:
//   1. sets up tenant A (standard plan, requests_per_minute overridden to A_RPM)
//      with four sessions, and tenant B (enterprise plan, its plan's limits) with one;
//   2. B reads one record at B_RATE requests/s throughout, while the run alternates
//      NOISY_CYCLES times between a quiet phase (B alone) and a flood phase (A sends
//      10 × A_RPM requests a minute, spread over its four sessions so the tenant limit
//      binds rather than the per-session one). Alternating keeps the quiet and the
//      flood samples under the same background load on a shared machine.
// Reports B's 429s (must be 0), B's p99 in the floods against its quiet p99 (goal
// ≤ 1.5×), and what A got. A and B come from different client addresses, as two
// companies would. Prints a Markdown table and writes bench/results/noisy-neighbour.json.
// Options (env): NOISY_CYCLES (default 3), NOISY_QUIET_SECONDS (10 per cycle),
// NOISY_FLOOD_SECONDS (20 per cycle), NOISY_A_RPM (300), NOISY_B_RATE (20), BENCH_PORT (8798).
import { mkdirSync, writeFileSync } from 'node:fs'
import { SIGN_IN_CODE, percentile, startDevServer } from './dev-server.mjs'
import { cpus } from 'node:os'

const cycles = Number(process.env.NOISY_CYCLES ?? 3)
const quietSeconds = Number(process.env.NOISY_QUIET_SECONDS ?? 10)
const floodSeconds = Number(process.env.NOISY_FLOOD_SECONDS ?? 20)
const aRpm = Number(process.env.NOISY_A_RPM ?? 300)
const bRate = Number(process.env.NOISY_B_RATE ?? 20)
const port = Number(process.env.BENCH_PORT ?? 8798)
const base = `http://127.0.0.1:${port}`
const state = '.wrangler/bench-noisy-state'
const A_IP = '198.51.100.10'
const B_IP = '203.0.113.20'

const { stop } = await startDevServer({ port, state })

let setupIp = 0
/** Setup calls come from their own addresses, so they never spend the phases' per-address budgets. */
async function api(method, path, { token, body, ip } = {}) {
  const headers = { 'CF-Connecting-IP': ip ?? `192.0.2.${(setupIp++ % 200) + 1}` }
  if (token) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

async function mailedCode(to) {
  const mailbox = await api('GET', '/dev/mailbox')
  const mail = mailbox.items.find((m) => m.to === to && SIGN_IN_CODE.test(m.text))
  return mail.text.match(SIGN_IN_CODE)[1]
}

async function operatorToken() {
  const email = 'ops@example.com'
  const first = await api('POST', '/ops/v1/auth/login', { body: { email, password: 'mamori-ops-demo-2026' } })
  return (await api('POST', '/ops/v1/auth/mfa', { body: { challenge: first.challenge, code: await mailedCode(email) } })).token
}

const password = () => `Quiet-River-${Math.random().toString(36).slice(2, 10)}-Lantern`

/** A new tenant through the operator API, its admin through the first sign-in (mailed code, password change). */
async function newTenant(ops, slug, plan, limits) {
  const admin = `admin@${slug}.example`
  const created = await api('POST', '/ops/v1/tenants', {
    token: ops,
    body: { slug, name: `Bench ${slug}`, plan, contact_email: `contact@${slug}.example`, admin: { email: admin, name: 'Admin' } },
  })
  if (limits) await api('PATCH', `/ops/v1/tenants/${created.tenant.id}`, { token: ops, body: { limits } })
  const temporary = created.admin.temporary_password
  const first = await api('POST', '/api/v1/auth/login', { body: { tenant: slug, email: admin, password: temporary } })
  const second = await api('POST', '/api/v1/auth/mfa', { body: { challenge: first.challenge, code: await mailedCode(admin) } })
  const chosen = password()
  const changed = await api('POST', '/api/v1/auth/password', { token: second.token, body: { current_password: temporary, new_password: chosen } })
  return { id: created.tenant.id, slug, token: changed.token }
}

/** One more member of the tenant, signed in with a full session. */
async function member(tenant, n) {
  const email = `member${n}@${tenant.slug}.example`
  const created = await api('POST', '/api/v1/users', { token: tenant.token, body: { email, name: `Member ${n}`, role: 'member' } })
  const first = await api('POST', '/api/v1/auth/login', { body: { tenant: tenant.slug, email, password: created.temporary_password } })
  const chosen = password()
  return (await api('POST', '/api/v1/auth/password', { token: first.token, body: { current_password: created.temporary_password, new_password: chosen } })).token
}

/**
 * Sends GETs at a fixed rate for `seconds` (open loop: a slow answer does not
 * delay the next request), rotating over `tokens`. Returns every answer's
 * status and latency.
 */
async function paced(url, tokens, ip, perSecond, seconds) {
  const samples = []
  const inFlight = []
  const total = Math.round(perSecond * seconds)
  const started = performance.now()
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / perSecond
    const wait = due - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    const sent = performance.now()
    inFlight.push(
      fetch(url, { headers: { authorization: `Bearer ${tokens[i % tokens.length]}`, 'CF-Connecting-IP': ip } })
        .then(async (res) => {
          await res.arrayBuffer()
          samples.push({ status: res.status, ms: performance.now() - sent })
        })
        .catch(() => samples.push({ status: 0, ms: performance.now() - sent })),
    )
  }
  await Promise.all(inFlight)
  return samples
}


function summary(samples) {
  const ok = samples.filter((s) => s.status === 200).map((s) => s.ms)
  const by = (status) => samples.filter((s) => s.status === status).length
  return {
    requests: samples.length,
    ok: ok.length,
    throttled: by(429),
    other: samples.length - ok.length - by(429),
    p50_ms: ok.length ? Math.round(percentile(ok, 50) * 10) / 10 : null,
    p99_ms: ok.length ? Math.round(percentile(ok, 99) * 10) / 10 : null,
  }
}

await api('GET', '/health/ready') // runs the development seed
const ops = await operatorToken()
const stamp = Date.now().toString(36)
const a = await newTenant(ops, `noisy-${stamp}`, 'standard', { requests_per_minute: aRpm })
const aTokens = [a.token, await member(a, 1), await member(a, 2), await member(a, 3)]
const b = await newTenant(ops, `quiet-${stamp}`, 'enterprise', null)
const record = await api('POST', '/api/v1/records', { token: b.token, ip: B_IP, body: { collection: 'bench', data: { name: 'Benchmark KK' } } })
const aRecord = await api('POST', '/api/v1/records', { token: a.token, ip: A_IP, body: { collection: 'bench', data: { name: 'Noisy KK' } } })
const bUrl = `${base}/api/v1/records/${record.id}`
const aUrl = `${base}/api/v1/records/${aRecord.id}`
const aPerSecond = (10 * aRpm) / 60
const quietSamples = []
const floodSamples = []
const aSamples = []
for (let cycle = 0; cycle < cycles; cycle++) {
  quietSamples.push(...(await paced(bUrl, [b.token], B_IP, bRate, quietSeconds)))
  const [bDuring, aDuring] = await Promise.all([
    paced(bUrl, [b.token], B_IP, bRate, floodSeconds),
    paced(aUrl, aTokens, A_IP, aPerSecond, floodSeconds),
  ])
  floodSamples.push(...bDuring)
  aSamples.push(...aDuring)
}
stop()
const quiet = summary(quietSamples)
const loud = summary(floodSamples)
const aSummary = summary(aSamples)
const ratio = loud.p99_ms / quiet.p99_ms

const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`
console.log(`\nnoisy neighbour: ${machine}`)
console.log(`A: standard plan, requests_per_minute ${aRpm} by contract, flooding at ${aPerSecond} req/s (10 × its quota) from 4 sessions`)
console.log(`B: enterprise plan, one session reading one record at ${bRate} req/s throughout`)
console.log(`${cycles} cycles of ${quietSeconds} s quiet (B alone) and ${floodSeconds} s flood (A and B)\n`)
console.log('| phase | tenant | requests | 200 | 429 | other | p50 ms | p99 ms |')
console.log('|---|---|---|---|---|---|---|---|')
console.log(`| quiet | B | ${quiet.requests} | ${quiet.ok} | ${quiet.throttled} | ${quiet.other} | ${quiet.p50_ms} | ${quiet.p99_ms} |`)
console.log(`| flood | B | ${loud.requests} | ${loud.ok} | ${loud.throttled} | ${loud.other} | ${loud.p50_ms} | ${loud.p99_ms} |`)
console.log(`| flood | A | ${aSummary.requests} | ${aSummary.ok} | ${aSummary.throttled} | ${aSummary.other} | ${aSummary.p50_ms} | ${aSummary.p99_ms} |`)
console.log(`\nB's 429s during the flood: ${loud.throttled} (must be 0); B's p99 flood / quiet = ${ratio.toFixed(2)}× (goal ≤ 1.5×)`)
mkdirSync('bench/results', { recursive: true })
writeFileSync(
  'bench/results/noisy-neighbour.json',
  JSON.stringify({ at: new Date().toISOString(), machine, aRpm, aPerSecond, bRate, cycles, quietSeconds, floodSeconds, quiet, flood: loud, a: aSummary, ratio }, null, 2),
)
process.exit(loud.throttled === 0 ? 0 : 1)
