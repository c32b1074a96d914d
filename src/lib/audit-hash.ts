import { sha256Hex } from './digest'

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
  request_id: string | null
  ip: string | null
  user_agent: string | null
  outcome: string
  /** JSON object, serialised once at append time and hashed as stored. */
  details: string
  prev_hash: string
  hash: string
}

/** prev_hash of the first event of every chain. */
export const GENESIS_HASH = '0'.repeat(64)

/**
 * SHA-256 over every stored field but `hash`, in a fixed order. Changing any
 * field, or the link to the previous event, changes the hash.
 */
export function auditEventHash(e: Omit<StoredAuditEvent, 'hash'>): Promise<string> {
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
