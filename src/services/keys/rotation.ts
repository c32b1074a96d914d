import { and, eq, isNotNull, ne, sql } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { tenantKeys } from '../../db/schema'
import type { SqlWrite } from '../../durable/audit-chain'
import { masterRing, unwrapSecret, wrapAad, wrapSecret } from '../../lib/key-wrap'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { audit, type AuditActor } from '../audit/audit'
import { upgradeLegacyFactorSecrets } from '../identity/mfa'
import type { KeyEnv } from './tenant-keys'

export type RotationResult = { rewrapped: number; reencrypted: number; remaining: number }

/** At most this many keys and secrets per call, so one call stays far below D1's 1,000 queries per invocation. */
export const ROTATION_BATCH = { default: 100, max: 200 } as const

/**
 * One step of a master-key rotation (DM-4): re-wraps up to `limit` data
 * keys (and the platform's MAC root) that are still wrapped under an older
 * master key with the current one, then, with what is left of `limit`,
 * seals legacy `v1.` TOTP secrets again under their tenants' data keys.
 * Resumable and idempotent: call until `remaining` is 0, then remove
 * MASTER_KEY_PREVIOUS. Each re-wrap is guarded by the master key it read,
 * so concurrent calls never write twice, and all of them commit with one
 * `keys.rotated` event on the platform chain. No key material leaves here.
 *
 * A key wrapped under a master key that is not configured answers 409
 * `master-key-unavailable` and changes nothing: MASTER_KEY_PREVIOUS must
 * hold it.
 */
export async function rotateMasterKey(env: KeyEnv, db: Database, actor: AuditActor, meta: RequestMeta, limit: number = ROTATION_BATCH.default): Promise<RotationResult> {
  const ring = await masterRing(env)
  const current = ring.current
  const stale = () => and(ne(tenantKeys.masterKeyId, current.id), isNotNull(tenantKeys.wrapped))
  const rows = await db.select().from(tenantKeys).where(stale()).orderBy(tenantKeys.keyId).limit(limit).all()
  const writes: SqlWrite[] = []
  const from = new Set<string>()
  for (const row of rows) {
    const master = ring.byId.get(row.masterKeyId)
    if (!master) {
      throw Problem.conflict(
        `Some keys are wrapped under master key ${row.masterKeyId}, which is not configured. Set MASTER_KEY_PREVIOUS to that key and call again.`,
        'master-key-unavailable',
      )
    }
    const aad = wrapAad(row.tenantId, row.keyId, row.purpose)
    const raw = await unwrapSecret(master.kek, row.wrapped!, aad)
    const wrapped = await wrapSecret(current.kek, raw, aad)
    raw.fill(0)
    from.add(row.masterKeyId)
    writes.push(
      db
        .update(tenantKeys)
        .set({ wrapped, masterKeyId: current.id })
        .where(and(eq(tenantKeys.keyId, row.keyId), eq(tenantKeys.masterKeyId, row.masterKeyId), isNotNull(tenantKeys.wrapped)))
        .toSQL(),
    )
  }
  // Legacy secrets need their tenants' data keys, which may only now be made (each audited on its own chain).
  const legacy = await upgradeLegacyFactorSecrets(env, db, limit - rows.length)
  await audit(
    env,
    meta,
    {
      tenantId: null,
      actor,
      action: 'keys.rotated',
      target: { type: 'master_key', id: current.id },
      outcome: 'success',
      details: { master_key_id: current.id, from_master_key_ids: [...from].sort(), rewrapped: rows.length, reencrypted: legacy.upgraded },
    },
    writes,
  )
  const left = await db.select({ n: sql<number>`count(*)` }).from(tenantKeys).where(stale()).get()
  return { rewrapped: rows.length, reencrypted: legacy.upgraded, remaining: (left?.n ?? 0) + legacy.remaining }
}
