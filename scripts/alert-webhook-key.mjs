// Prints the key that signs alert webhook deliveries (header Mamori-Signature), for the receiver:
// HKDF-SHA-256 over MASTER_KEY, salt "mamori/v1", info "alert-webhook", 32 bytes, as hex.
//   MASTER_KEY=... npx node scripts/alert-webhook-key.mjs
// After a master-key rotation, pass the deployment's first MASTER_KEY: the platform keys derive
// from it (it is kept wrapped in D1 as the platform's MAC root), so the webhook key never changes.
// The receiver checks HMAC-SHA-256(key, "<t>." + raw body) against v1=<hex> and refuses stale t.
const master = process.env.MASTER_KEY
if (!master) {
  console.error('Set MASTER_KEY (the base64 secret the Worker has).')
  process.exit(1)
}
const raw = Uint8Array.from(atob(master.trim()), (c) => c.charCodeAt(0))
if (raw.length !== 32) {
  console.error('MASTER_KEY must be 32 bytes, base64-encoded.')
  process.exit(1)
}
const ikm = await crypto.subtle.importKey('raw', raw, 'HKDF', false, ['deriveBits'])
const enc = new TextEncoder()
const bits = await crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: enc.encode('mamori/v1'), info: enc.encode('alert-webhook') }, ikm, 256)
console.log(Buffer.from(bits).toString('hex'))
