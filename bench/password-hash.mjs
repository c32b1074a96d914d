// npm run bench:hash: CPU time and memory of one password verify, side by side
// in one run for three scrypt settings:
//   before        N=2^14, r=8,  p=5  (16 MiB; Mamori's parameters until issue 7)
//   better-auth   N=2^14, r=16, p=1  (32 MiB; better-auth's default)
//   after         N=2^15, r=8,  p=2  (32 MiB; src/services/passwords/passwords.ts)
// The runs are interleaved (one verify of each setting in turn), so a noisy
// machine slows all three alike and the ratios hold even when the absolute
// numbers move. Measured with Node's scrypt (OpenSSL; workerd uses BoringSSL's
// implementation of the same algorithm). Memory is the peak RSS growth of a
// fresh child process doing one hash, next to the theoretical 128·N·r bytes,
// and the same for two hashes in flight at once (passwords.ts lets at most two
// run per isolate), which must stay within 64 MiB of the isolate's 128 MB.
// Options (env): BENCH_HASH_RUNS (default 20).
import { execFileSync } from 'node:child_process'
import { scryptSync } from 'node:crypto'

const SETTINGS = [
  { name: 'before', logN: 14, r: 8, p: 5 },
  { name: 'better-auth default', logN: 14, r: 16, p: 1 },
  { name: 'after (production)', logN: 15, r: 8, p: 2 }, // keep in step with PROFILES.production
]
const HASHES_IN_FLIGHT = 2 // keep in step with passwords.ts
const runs = Number(process.env.BENCH_HASH_RUNS ?? 20)
const MiB = 2 ** 20

const optionsOf = ({ logN, r, p }) => ({ N: 2 ** logN, r, p, maxmem: 128 * 2 ** logN * r + MiB })
const memoryOf = ({ logN, r }) => (128 * 2 ** logN * r) / MiB

for (const s of SETTINGS) scryptSync('warm-up', 'salt-salt-salt-1', 32, optionsOf(s))
const samples = SETTINGS.map(() => [])
for (let i = 0; i < runs; i++) {
  SETTINGS.forEach((s, k) => {
    const before = process.cpuUsage()
    scryptSync(`password-${i}`, 'salt-salt-salt-1', 32, optionsOf(s))
    const used = process.cpuUsage(before)
    samples[k].push((used.user + used.system) / 1000)
  })
}
const stats = samples.map((list) => {
  const sorted = [...list].sort((a, b) => a - b)
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1) }
})

/** Peak RSS growth (MiB) of a fresh Node process running `count` hashes of one setting at the same time. */
function peakGrowth(setting, count) {
  const child = `
const { scrypt } = require('node:crypto')
const base = process.resourceUsage().maxRSS
const options = ${JSON.stringify(optionsOf(setting))}
Promise.all(Array.from({ length: ${count} }, (_, i) => new Promise((resolve, reject) =>
  scrypt('x' + i, 'salt-salt-salt-1', 32, options, (err, key) => (err ? reject(err) : resolve(key))))))
  .then(() => console.log(process.resourceUsage().maxRSS - base))`
  // UV_THREADPOOL_SIZE is at least the count, so the hashes really overlap.
  const out = execFileSync(process.execPath, ['-e', child], { env: { ...process.env, UV_THREADPOOL_SIZE: String(Math.max(4, count)) } })
  return Number(out.toString().trim()) / 1024
}

const base = SETTINGS.find((s) => s.name.startsWith('better-auth'))
const before = 0
const after = SETTINGS.length - 1
// An attacker's cost per guess is memory held × time it is held: p passes, each holding 128·N·r bytes for time ∝ N·r.
const attackerCost = ({ logN, r, p }) => p * (2 ** logN * r) ** 2
const fmt = (ms) => `${ms.toFixed(1)} ms`

console.log(`scrypt, ${runs} interleaved runs per setting, Node ${process.version}`)
console.log()
console.log('| setting | CPU per verify (median) | min | max | × before | × better-auth | memory | memory × passes | attacker memory × time (better-auth = 1) | peak RSS growth, 1 hash | peak RSS growth, 2 in flight |')
console.log('|---|---|---|---|---|---|---|---|---|---|---|')
SETTINGS.forEach((s, k) => {
  const { median, min, max } = stats[k]
  const one = peakGrowth(s, 1)
  const two = peakGrowth(s, HASHES_IN_FLIGHT)
  console.log(
    `| ${s.name}: N=2^${s.logN}, r=${s.r}, p=${s.p} | ${fmt(median)} | ${fmt(min)} | ${fmt(max)} | ${(median / stats[before].median).toFixed(2)} | ${(median / stats[SETTINGS.indexOf(base)].median).toFixed(2)} | ${memoryOf(s)} MiB | ${memoryOf(s) * s.p} MiB·passes | ${(attackerCost(s) / attackerCost(base)).toFixed(2)} | ${one.toFixed(1)} MiB | ${two.toFixed(1)} MiB |`,
  )
})
// What a child process grows by anyway (threads, buffers) with hashes that need almost no memory.
const floor = peakGrowth({ logN: 4, r: 8, p: 1 }, HASHES_IN_FLIGHT)
const inFlight = memoryOf(SETTINGS[after]) * HASHES_IN_FLIGHT
const measured = peakGrowth(SETTINGS[after], HASHES_IN_FLIGHT) - floor
console.log()
console.log(
  `production, ${HASHES_IN_FLIGHT} hashes in flight: ${inFlight} MiB theoretical, ${measured.toFixed(1)} MiB measured above the ${floor.toFixed(1)} MiB a process grows by with tiny hashes (${measured <= 64 ? 'within' : 'OVER'} the 64 MiB budget for password work)`,
)
