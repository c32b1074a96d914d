// npm run bench:hash: CPU time and memory of one password verify with the
// production scrypt parameters (src/services/passwords/passwords.ts), measured with
// Node's scrypt (OpenSSL; workerd uses BoringSSL's implementation of the same
// algorithm). Memory is the peak RSS growth of a fresh child process doing
// one hash, next to the theoretical 128·N·r bytes.
import { execFileSync } from 'node:child_process'
import { scryptSync } from 'node:crypto'

const PARAMS = { logN: 14, r: 8, p: 5 } // keep in step with SCRYPT_PARAMS
const N = 2 ** PARAMS.logN
const options = { N, r: PARAMS.r, p: PARAMS.p, maxmem: 256 * 1024 * 1024 }
const runs = Number(process.env.BENCH_HASH_RUNS ?? 20)

scryptSync('warm-up', 'salt-salt-salt-1', 32, options)
const samples = []
for (let i = 0; i < runs; i++) {
  const before = process.cpuUsage()
  scryptSync(`password-${i}`, 'salt-salt-salt-1', 32, options)
  const used = process.cpuUsage(before)
  samples.push((used.user + used.system) / 1000)
}
samples.sort((a, b) => a - b)
const median = samples[Math.floor(samples.length / 2)]

const child = `
const { scryptSync } = require('node:crypto')
const base = process.resourceUsage().maxRSS
scryptSync('x', 'salt-salt-salt-1', 32, ${JSON.stringify(options)})
console.log(process.resourceUsage().maxRSS - base)`
const peakKiB = Number(execFileSync(process.execPath, ['-e', child]).toString().trim())

console.log(`scrypt N=2^${PARAMS.logN} r=${PARAMS.r} p=${PARAMS.p}, ${runs} runs, Node ${process.version}`)
console.log(`| CPU per verify (median) | min | max | theoretical memory | measured peak RSS growth |`)
console.log(`|---|---|---|---|---|`)
console.log(
  `| ${median.toFixed(1)} ms | ${samples[0].toFixed(1)} ms | ${samples.at(-1).toFixed(1)} ms | ${(128 * N * PARAMS.r) / 2 ** 20} MiB | ${(peakKiB / 1024).toFixed(1)} MiB |`,
)
