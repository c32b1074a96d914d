import type { D1Migration } from 'cloudflare:test'

declare global {
  namespace Cloudflare {
    interface Env {
      /** Read by vitest.config.ts from /migrations, applied by test/setup.ts. */
      TEST_MIGRATIONS: D1Migration[]
      /** ../shared/REQUIREMENTS.md and the seed checklist as vitest.config.ts found them ('' when absent). */
      SLA_REQUIREMENTS_SOURCE: string
      SLA_SEED_SOURCE: string
    }
  }
}
