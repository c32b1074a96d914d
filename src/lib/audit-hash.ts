import { deriveHmacKey } from './crypto'
import { platformRoot, type MasterKeyConfig } from './key-wrap'
import { sha256Hex } from './digest'
import { toHex, utf8 } from './encoding'

/**
 * How an event's `hash` was computed. `sha256` is the unkeyed hash of the
 * events from before the chain was keyed: anyone who can write D1 can
 * recompute it. `hmac-sha256` is keyed with a key derived from MASTER_KEY,
 * which D1 never holds, so a rewritten event cannot be given a valid hash.
 */
export type AuditHashAlg = 'sha256' | 'hmac-sha256'

export const KEYED_HASH_ALG: AuditHashAlg = 'hmac-sha256'

/** The stored form of one audit event, as in the audit_events table. */
export type StoredAuditEvent = {
  id: string
  chain: string
  seq: number
  tenant_id: string | null
  at: string
  actor_type: string
  actor_id: string | null
  action: string
  category: string
  target_type: string | null
  target_id: string | null
  /** The caller's X-Request-Id if it sent a sane one, else the service's own. */
  request_id: string | null
  /** The service's own ID of the request, whatever the caller sent. */
  service_request_id: string | null
  ip: string | null
  user_agent: string | null
  outcome: string
  /** JSON object, serialised once at append time and hashed as stored. */
  details: string
  prev_hash: string
  hash: string
  hash_alg: string
}

/** prev_hash of the first event of every chain. */
export const GENESIS_HASH = '0'.repeat(64)

/**
 * The unkeyed SHA-256 of events from before the chain was keyed, over the
 * fields those events had, in their fixed order. Never used for new events.
 */
export function unkeyedAuditEventHash(e: Omit<StoredAuditEvent, 'hash'>): Promise<string> {
  return sha256Hex(
    JSON.stringify([
      e.id,
      e.chain,
      e.seq,
      e.tenant_id,
      e.at,
      e.actor_type,
      e.actor_id,
      e.action,
      e.category,
      e.target_type,
      e.target_id,
      e.request_id,
      e.ip,
      e.user_agent,
      e.outcome,
      e.details,
      e.prev_hash,
    ]),
  )
}

function keyedMessage(e: Omit<StoredAuditEvent, 'hash'>) {
  return utf8(
    JSON.stringify([
      KEYED_HASH_ALG,
      e.id,
      e.chain,
      e.seq,
      e.tenant_id,
      e.at,
      e.actor_type,
      e.actor_id,
      e.action,
      e.category,
      e.target_type,
      e.target_id,
      e.request_id,
      e.service_request_id,
      e.ip,
      e.user_agent,
      e.outcome,
      e.details,
      e.prev_hash,
    ]),
  )
}

/** HMAC-SHA-256 (hex) under the chain's key over every stored field but `hash`, the link to the previous event included. */
export async function keyedAuditEventHash(key: CryptoKey, e: Omit<StoredAuditEvent, 'hash'>): Promise<string> {
  return toHex(await crypto.subtle.sign('HMAC', key, keyedMessage(e)))
}

/**
 * Whether the event's stored hash is right under `alg` (the algorithm the
 * chain's sequencer says applies at its seq, not the one the row claims).
 * The keyed check runs in constant time, so timing reveals nothing of the
 * right tag to someone probing with forged rows.
 */
export async function auditEventHashMatches(key: CryptoKey, alg: AuditHashAlg, event: StoredAuditEvent): Promise<boolean> {
  const { hash, ...rest } = event
  if (alg === 'sha256') return (await unkeyedAuditEventHash(rest)) === hash
  if (!/^[0-9a-f]{64}$/.test(hash)) return false
  const tag = Uint8Array.from(hash.match(/../g)!, (h) => parseInt(h, 16))
  return crypto.subtle.verify('HMAC', key, tag, keyedMessage(rest))
}

/**
 * The HMAC key of one chain, derived by HKDF from the platform's MAC root
 * (lib/key-wrap.ts: the original MASTER_KEY, kept wrapped in D1, so a
 * master-key rotation leaves every chain verifying), one per chain so no key
 * serves two tenants (DM-5). Lives here because the chain's Durable Object,
 * which may not import services, is what uses it.
 */
export async function auditChainKey(env: MasterKeyConfig & { DB: D1Database }, chain: string): Promise<CryptoKey> {
  return deriveHmacKey(await platformRoot(env), `audit-chain:${chain}`)
}
