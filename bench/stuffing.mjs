// npm run bench:stuffing: credential stuffing against the throttles (SE-30, SE-31).
// Starts its own local dev server (separate state directory), then, from many
// client addresses (CF-Connecting-IP, one /32 each):
//   1. list attack: STUFF_IPS networks each try STUFF_LIST e-mails of the demo tenant once,
//      known accounts and unknown ones mixed, all with wrong passwords. Each network's
//      daily failure budget (100) must stop it after exactly 100 password verifies;
//      every later attempt must be refused (429) before any verify.
//   2. one account from many networks: STUFF_PAIR_IPS networks each try one known account
//      STUFF_PAIR_TRIES times. Each (account, network) pair must stop after exactly 10
//      verifies, and the account must lock at 100 failures in a row.
// Attempts that reached the password verify are counted from the audit trail (a verified
// failure appends one auth.login failure; a refused attempt appends nothing), and compared
// with what the thresholds allow. Refused attempts per second and verified ones per second
// come from the same run, as does the service's CPU time per refused attempt (workerd's
// user+system CPU over the refused phase, from /proc). Writes bench/results/stuffing.json.
// Options (env): STUFF_IPS (10), STUFF_LIST (150), STUFF_PAIR_IPS (10), STUFF_PAIR_TRIES (20),
// STUFF_CONNECTIONS (8), BENCH_PORT (8797).
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { queryLocalD1, startDevServer } from './dev-server.mjs'

const ips = Number(process.env.STUFF_IPS ?? 10)
const list = Number(process.env.STUFF_LIST ?? 150)
const pairIps = Number(process.env.STUFF_PAIR_IPS ?? 10)
const pairTries = Number(process.env.STUFF_PAIR_TRIES ?? 20)
const connections = Number(process.env.STUFF_CONNECTIONS ?? 8)
const port = Number(process.env.BENCH_PORT ?? 8797)
const IP_BUDGET = 100
const PAIR_LIMIT = 10
const ACCOUNT_LIMIT = 100

const { base, state, stop } = await startDevServer({ port, state: '.wrangler/bench-stuffing-state' })
await fetch(`${base}/health/ready`, { headers: { 'CF-Connecting-IP': '192.0.2.250' } }) // runs the development seed

/** The service's CPU seconds so far: every workerd process of this server (user + system). */
function serviceCpuSeconds() {
  const pids = execFileSync('pgrep', ['-f', `workerd.*${port}|workerd serve`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean)
  const tick = 100 // USER_HZ on Linux
  let total = 0
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
      total += (Number(fields[11]) + Number(fields[12])) / tick
    } catch {}
  }
  return total
}

const failuresVerified = () =>
  queryLocalD1(state, "SELECT count(*) AS n FROM audit_events WHERE action = 'auth.login' AND outcome = 'failure'")[0].n

async function attempt(ip, email, password = 'certainly-not-the-password') {
  const res = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'CF-Connecting-IP': ip },
    body: JSON.stringify({ tenant: 'demo', email, password }),
  })
  await res.arrayBuffer()
  return res.status
}

/** Runs `jobs` (functions returning a status) with `connections` in flight; returns statuses and seconds. */
async function pool(jobs) {
  const statuses = []
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < jobs.length) statuses.push(await jobs[next++]())
    }),
  )
  return { statuses, seconds: (performance.now() - started) / 1000 }
}
const count = (statuses, status) => statuses.filter((s) => s === status).length

// The list: the demo admin is a known account, the rest are unknown. The demo member is kept
// out of it, so phase 2 starts from a clean run of failures.
const known = ['admin@demo.example']
const emails = Array.from({ length: list }, (_, i) => (i < known.length ? known[i] : `nobody-${i}@demo.example`))
const listIp = (n) => `198.18.${Math.floor(n / 250)}.${(n % 250) + 1}`

// Phase 1a: each network's first IP_BUDGET attempts (what the budget lets through).
// Interleaved across networks, so the verifies run concurrently as in a real attack.
const before = failuresVerified()
const first = []
for (let k = 0; k < IP_BUDGET; k++) for (let n = 0; n < ips; n++) first.push(() => attempt(listIp(n), emails[(k + n) % list]))
const verified = await pool(first)
const afterVerified = failuresVerified()
// Phase 1b: the rest of each network's list: every one must be refused before the verify.
const rest = []
for (let k = IP_BUDGET; k < list; k++) for (let n = 0; n < ips; n++) rest.push(() => attempt(listIp(n), emails[(k + n) % list]))
const cpuBefore = serviceCpuSeconds()
const refused = await pool(rest)
const cpuRefused = serviceCpuSeconds() - cpuBefore
const afterRefused = failuresVerified()

// Phase 2: one known account from many networks (pair limit, then the account lock).
const target = 'user@demo.example'
const pairIp = (n) => `198.19.${Math.floor(n / 250)}.${(n % 250) + 1}`
const pairJobs = []
for (let k = 0; k < pairTries; k++) for (let n = 0; n < pairIps; n++) pairJobs.push(() => attempt(pairIp(n), target))
const beforePair = failuresVerified()
const pairRun = await pool(pairJobs)
const pairVerified = failuresVerified() - beforePair
// The account is locked now if the pairs reached ACCOUNT_LIMIT failures in a row: the right password is refused too.
const lockedProbe = await attempt('198.19.250.1', target, 'mamori-user-demo-2026')
const locks = queryLocalD1(state, "SELECT count(*) AS n FROM audit_events WHERE action = 'security.account_locked'")[0].n
stop()

const phase1 = {
  networks: ips,
  list_per_network: list,
  attempts: first.length + rest.length,
  verified_attempts: afterVerified - before,
  expected_verified: ips * Math.min(IP_BUDGET, list),
  refused_phase_verifies: afterRefused - afterVerified,
  statuses_verified_phase: { 401: count(verified.statuses, 401), 429: count(verified.statuses, 429) },
  statuses_refused_phase: { 401: count(refused.statuses, 401), 429: count(refused.statuses, 429) },
  verified_per_second: verified.statuses.length / verified.seconds,
  refused_per_second: refused.statuses.length / refused.seconds,
  cpu_ms_per_refused: (cpuRefused * 1000) / refused.statuses.length,
}
const expectedPair = Math.min(ACCOUNT_LIMIT, pairIps * Math.min(PAIR_LIMIT, pairTries))
const phase2 = {
  networks: pairIps,
  tries_per_network: pairTries,
  attempts: pairJobs.length,
  verified_attempts: pairVerified,
  expected_verified: expectedPair,
  statuses: { 401: count(pairRun.statuses, 401), 429: count(pairRun.statuses, 429) },
  right_password_after: lockedProbe,
  account_locks_recorded: locks,
}
const ratio = phase1.refused_per_second / phase1.verified_per_second
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`
console.log(`\n${machine}, ${connections} connections\n`)
console.log('| phase | attempts | reached the verify | allowed by the thresholds | 401 | 429 | per second |')
console.log('|---|---|---|---|---|---|---|')
console.log(`| list attack, first ${IP_BUDGET} per network | ${first.length} | ${phase1.verified_attempts} | ${phase1.expected_verified} | ${phase1.statuses_verified_phase[401]} | ${phase1.statuses_verified_phase[429]} | ${phase1.verified_per_second.toFixed(1)} |`)
console.log(`| list attack, the rest | ${rest.length} | ${phase1.refused_phase_verifies} | 0 | ${phase1.statuses_refused_phase[401]} | ${phase1.statuses_refused_phase[429]} | ${phase1.refused_per_second.toFixed(1)} |`)
console.log(`| one account, ${pairIps} networks × ${pairTries} | ${pairJobs.length} | ${phase2.verified_attempts} | ${expectedPair} | ${phase2.statuses[401]} | ${phase2.statuses[429]} | – |`)
console.log(`\nrefused / verified per second = ${ratio.toFixed(1)}× (goal ≥ 20×); service CPU per refused attempt ${phase1.cpu_ms_per_refused.toFixed(2)} ms`)
console.log(`right password after the account run: ${lockedProbe} (429 = locked); account locks recorded: ${locks}`)
mkdirSync('bench/results', { recursive: true })
writeFileSync('bench/results/stuffing.json', JSON.stringify({ at: new Date().toISOString(), machine, connections, phase1, phase2, ratio }, null, 2))
process.exit(0)
