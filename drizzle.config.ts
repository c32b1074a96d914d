import { defineConfig } from 'drizzle-kit'

// Only generates SQL; wrangler applies it (`npm run db:migrate:local`) and the
// tests apply it with applyD1Migrations.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/schema.ts',
  out: './migrations',
})
