// Waits for the dev server, then makes the first request that seeds the demo
// accounts, and says where to go. Gives up quietly after two minutes.
const base = process.argv[2] ?? 'http://127.0.0.1:8787'
const deadline = Date.now() + 120_000

while (Date.now() < deadline) {
  try {
    const live = await fetch(`${base}/health/live`)
    if (live.ok) {
      const ready = await fetch(`${base}/health/ready`)
      console.log(`\n[mamori] ready (${ready.status}); demo accounts seeded. API docs: ${base}/docs\n`)
      process.exit(0)
    }
  } catch {
    // not listening yet
  }
  await new Promise((resolve) => setTimeout(resolve, 500))
}
console.error('[mamori] the dev server did not answer within two minutes')
