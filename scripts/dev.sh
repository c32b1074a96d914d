#!/bin/sh
# npm run dev: the whole service on local workerd (http://127.0.0.1:8787),
# with local D1/R2/Durable Objects, migrations applied and the demo accounts
# seeded. Runs under the project's own Node (npm puts node_modules/.bin first).
set -eu
cd "$(dirname "$0")/.."

[ -f .dev.vars ] || cp .dev.vars.example .dev.vars
# A .dev.vars from an older checkout lacks secrets added since (ERASURE_SIGNING_KEY):
# append each variable of the example that it does not set yet.
grep -E '^[A-Z_]+=' .dev.vars.example | while IFS= read -r line; do
  grep -q "^${line%%=*}=" .dev.vars || printf '%s\n' "$line" >> .dev.vars
done

# Offline machines: do not fetch Request.cf at every start.
export CLOUDFLARE_CF_FETCH_ENABLED=false
export WRANGLER_SEND_METRICS=false
PORT="${PORT:-8787}"

# CI=true: apply without the interactive Y/n prompt.
CI=true wrangler d1 migrations apply DB --local

# Seed as soon as the server answers: the first non-liveness request runs the
# idempotent development seed (src/services/platform/dev-seed.ts).
node scripts/dev-warmup.mjs "http://127.0.0.1:${PORT}" &

# exec: stopping npm stops workerd too.
exec wrangler dev --ip 127.0.0.1 --port "$PORT" --test-scheduled --show-interactive-dev-session=false
