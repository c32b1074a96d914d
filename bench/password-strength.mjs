// npm run bench:strength: CPU time of one password-strength check
// (passwordWeakness in src/services/passwords/password-policy.ts, the code a
// password change runs) at 8, 16, 32, 64 and 128 characters, for realistic and
// adversarial inputs. The check is synchronous, so its CPU time is time the
// isolate serves nobody else.
//
// The source is bundled with esbuild (wrangler's own bundler) and run in Node:
// the same V8 as workerd. Next to it, the same inputs through zxcvbn as the
// check used it before it was bounded (Levenshtein matching on, 100 l33t
// readings, the whole password), so the ratio comes from one run.
//
// Options (env): BENCH_STRENGTH_RUNS (default 3; the median is reported),
// BENCH_STRENGTH_REFERENCE=0 skips the unbounded column (it takes minutes).
import { build } from 'esbuild'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const runs = Number(process.env.BENCH_STRENGTH_RUNS ?? 3)
const withReference = process.env.BENCH_STRENGTH_REFERENCE !== '0'

const dir = mkdtempSync(join(tmpdir(), 'bench-strength-'))
const outfile = join(dir, 'strength.mjs')
await build({
  stdin: {
    contents: `
      export { passwordWeakness } from './src/services/passwords/password-policy'
      import { ZxcvbnFactory } from '@zxcvbn-ts/core'
      import * as common from '@zxcvbn-ts/language-common'
      import * as english from '@zxcvbn-ts/language-en'
      export const unbounded = () => new ZxcvbnFactory({
        dictionary: { ...common.dictionary, ...english.dictionary },
        graphs: common.adjacencyGraphs,
        translations: english.translations,
        useLevenshteinDistance: true,
      })`,
    resolveDir: resolve('.'),
    loader: 'ts',
  },
  bundle: true,
  format: 'esm',
  platform: 'node',
  outfile,
  logLevel: 'warning',
  plugins: [
    {
      // passwords.ts reads its hash profile from cloudflare:workers' env; the strength check never hashes.
      name: 'workers-env',
      setup(b) {
        b.onResolve({ filter: /^cloudflare:workers$/ }, () => ({ path: 'env', namespace: 'workers-env' }))
        b.onLoad({ filter: /.*/, namespace: 'workers-env' }, () => ({ contents: 'export const env = {}', loader: 'js' }))
      },
    },
  ],
})
const { passwordWeakness, unbounded } = await import(pathToFileURL(outfile).href)
rmSync(dir, { recursive: true, force: true })

const context = { email: 'hanako.yamada@example.com', tenantSlug: 'acme-corp', minLength: 8 }

/** Deterministic printable ASCII, so every run scores the same strings. */
function random(n, seed = 2026) {
  let x = seed
  let out = ''
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31
    out += String.fromCharCode(33 + (x % 94))
  }
  return out
}
const repeat = (unit) => (n) => unit.repeat(Math.ceil(n / unit.length)).slice(0, n)
const INPUTS = {
  'passphrase (realistic)': repeat('quiet river lantern morning garden window silver ocean paper '),
  'random printable': (n) => random(n),
  'repeated word': repeat('password'),
  'keyboard walk': repeat('qwertyuiopasdfghjkl1234567890'),
  'l33t word (p@$$w0rd!)': repeat('p@$$w0rd!'),
  'l33t symbols only (1!|)': repeat('1!|'),
}
const LENGTHS = [8, 16, 32, 64, 128]

function cpuMs(fn) {
  const before = process.cpuUsage()
  fn()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000
}
function median(samples) {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

// The dictionaries are turned into lookup tables on first use: once per isolate, not per check.
const firstUse = cpuMs(() => passwordWeakness(random(20, 1), context))
const reference = withReference ? unbounded() : null

console.log(`password-strength check, CPU ms per check (median of ${runs}), Node ${process.version}`)
console.log(`first use in an isolate (builds the lookup tables): ${firstUse.toFixed(0)} ms`)
console.log()
console.log(`| length | input | check (ms) | max (ms) |${withReference ? ' unbounded zxcvbn (ms) | ratio |' : ''} verdict |`)
console.log(`|---|---|---|---|${withReference ? '---|---|' : ''}---|`)
let worst = 0
for (const length of LENGTHS) {
  for (const [name, make] of Object.entries(INPUTS)) {
    const password = make(length)
    passwordWeakness(password, context)
    const samples = Array.from({ length: runs }, () => cpuMs(() => passwordWeakness(password, context)))
    const bounded = median(samples)
    worst = Math.max(worst, ...samples)
    let extra = ''
    let verdict = passwordWeakness(password, context) === null ? 'accepted' : 'refused'
    if (reference) {
      const ref = median(Array.from({ length: runs }, () => cpuMs(() => reference.check(password))))
      extra = ` ${ref.toFixed(1)} | ${(ref / bounded).toFixed(0)}× |`
      // None of the inputs contains the e-mail or the slug, so the score alone decides.
      verdict += reference.check(password).score >= 3 ? ' (unbounded: accepted)' : ' (unbounded: refused)'
    }
    console.log(`| ${length} | ${name} | ${bounded.toFixed(1)} | ${Math.max(...samples).toFixed(1)} |${extra} ${verdict} |`)
  }
}
console.log()
console.log(`slowest single check: ${worst.toFixed(1)} ms`)
