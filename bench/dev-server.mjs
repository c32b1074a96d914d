// The local service every HTTP benchmark measures: a fresh state directory,
// the migrations applied, `wrangler dev` on its own port (request logging on,
// as in production), stopped when the benchmark exits.
import { spawn, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, rmSync } from 'node:fs'

/** A sign-in code in the dev mailbox: mail is Japanese by default, English where the account chose it. */
export const SIGN_IN_CODE = /(?:サインイン確認コード: |sign-in code is )(\d{6})/

export const benchEnv = { ...process.env, CI: 'true', CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' }

/** Starts the service and resolves once `/health/live` answers; returns its base URL, its state directory and `stop`. */
export async function startDevServer({ port, state }) {
  if (!existsSync('.dev.vars')) copyFileSync('.dev.vars.example', '.dev.vars')
  rmSync(state, { recursive: true, force: true })
  if (spawnSync('wrangler', ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', state], { env: benchEnv, stdio: 'ignore' }).status !== 0) {
    throw new Error('migrations failed')
  }
  const server = spawn(
    'wrangler',
    ['dev', '--ip', '127.0.0.1', '--port', String(port), '--persist-to', state, '--log-level', 'warn', '--show-interactive-dev-session=false'],
    { env: benchEnv, stdio: 'ignore', detached: true },
  )
  const stop = () => {
    try {
      process.kill(-server.pid, 'SIGTERM')
    } catch {}
  }
  process.on('exit', stop)
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${base}/health/live`)).ok) return { base, state, stop, pid: server.pid }
    } catch {}
    await new Promise((r) => setTimeout(r, 500))
  }
  stop()
  throw new Error('dev server did not start')
}

/** One SQL query against the service's local D1 (the bench's own state directory). */
export function queryLocalD1(state, sql) {
  const run = spawnSync('wrangler', ['d1', 'execute', 'DB', '--local', '--persist-to', state, '--json', '--command', sql], { env: benchEnv, encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`d1 execute failed: ${run.stderr}`)
  return JSON.parse(run.stdout)[0].results
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}
