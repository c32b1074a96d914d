import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-plugin'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import { alertWebhookDouble } from './test/doubles/alert-webhook.js'

const migrationsDir = fileURLToPath(new URL('./migrations', import.meta.url))

/** The SLA catalogue's sources, when this checkout sits next to them ('' otherwise): test/sla-catalogue.test.ts. */
function shared(path: string) {
  const file = fileURLToPath(new URL(`../shared/${path}`, import.meta.url))
  return existsSync(file) ? readFileSync(file, 'utf8') : ''
}

// Suites that run with the production scrypt parameters, end to end: the hash
// itself, sign-in without enumeration, and the walkthrough. Everything else
// uses the cheap test profile so the suite stays within its time budget.
const productionHashSuites = ['test/passwords.test.ts', 'test/auth.test.ts', 'test/walkthrough.test.ts']

// The master-key rotation suite runs with a new MASTER_KEY and the usual one as
// MASTER_KEY_PREVIOUS, as a deployment does between a key change and the end of
// its re-wrap (docs: POST /ops/v1/keys/rotate).
const rotationSuites = ['test/tenant-keys-rotation.test.ts']
const TEST_MASTER_KEY = 'dGVzdC1vbmx5LW1hc3Rlci1rZXktMzItYnl0ZXMtISE='
const ROTATED_MASTER_KEY = 'bmV3LXRlc3QtbWFzdGVyLWtleS0zMi1ieXRlcy0hISE='

function workers(passwordHashProfile: 'test' | 'production', masterKeys: Record<string, string> = { MASTER_KEY: TEST_MASTER_KEY }) {
  return cloudflareTest(async () => ({
    main: './src/index.ts',
    wrangler: { configPath: './wrangler.toml' },
    miniflare: {
      bindings: {
        ENVIRONMENT: 'test',
        REQUEST_LOG: 'off',
        PASSWORD_HASH_PROFILE: passwordHashProfile,
        BOOTSTRAP_TOKEN: 'test-bootstrap-token',
        ...masterKeys,
        // Test-only Ed25519 key that signs erasure certificates.
        ERASURE_SIGNING_KEY:
          '{"crv":"Ed25519","d":"YEgVac2UAfxeyesC2b8MskjGlx2_qpHt20d0-FLgILw","x":"cQ7oqPNn_U3MgaDujrbS9LMy3YNI46ikldU10bhXHOk","kty":"OKP"}',
        TEST_MIGRATIONS: await readD1Migrations(migrationsDir),
        ALERT_WEBHOOK_URL: 'https://alerts.test/hooks/mamori',
        SLA_REQUIREMENTS_SOURCE: shared('REQUIREMENTS.md'),
        SLA_SEED_SOURCE: shared('seed/000_7926c1d7d84f180b.txt'),
      },
      // The alert webhook is the Worker's one outbound HTTP edge: a double answers it (test/doubles/alert-webhook.ts).
      outboundService: alertWebhookDouble,
    },
  }))
}

const common = { setupFiles: ['./test/setup.ts'], testTimeout: 30_000, hookTimeout: 30_000 }

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [workers('test')],
        test: { ...common, name: 'workers', include: ['test/**/*.test.ts'], exclude: [...productionHashSuites, ...rotationSuites, 'test/browser/**'] },
      },
      {
        plugins: [workers('test', { MASTER_KEY: ROTATED_MASTER_KEY, MASTER_KEY_PREVIOUS: TEST_MASTER_KEY })],
        test: { ...common, name: 'key-rotation', include: rotationSuites },
      },
      {
        plugins: [workers('production')],
        test: { ...common, name: 'production-hash', include: productionHashSuites },
      },
      // The console in a real Chromium against the dev server (Node, not workerd): skipped loudly without Chromium.
      {
        test: { name: 'browser', environment: 'node', include: ['test/browser/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 180_000 },
      },
    ],
  },
})
