/**
 * The steps of a tenant's termination that reach beyond D1 (R2 prefixes,
 * the tenant key), each bounded by the invocation's budget so a large tenant
 * is erased over several invocations and resumed where it stopped.
 */
import { backupKeys } from '../backup/sealed-object'
import { destroyTenantKeys as destroyKeys } from '../keys/tenant-keys'

/**
 * What an invocation may still spend: D1 queries, R2 and Durable Object
 * calls (Workers allow 1,000 D1 queries and 1,000 subrequests per
 * invocation). Each step takes from it and stops, resumable, before it runs out.
 */
export type Budget = { left: number }

/** Takes `n` from the budget if it has them; false (nothing taken) when it does not. */
export function spend(budget: Budget, n = 1): boolean {
  if (budget.left < n) return false
  budget.left -= n
  return true
}

/** R2 deletes at most 1,000 keys per call; a list answers at most 1,000. */
const R2_PAGE = 1000

export type PrefixProgress = { deleted: number; done: boolean }

/**
 * Deletes every object under `prefix`, a listed page at a time (two calls
 * per page), until none is left or the budget runs out. Each page is listed
 * afresh from the start: what was deleted is no longer listed, so a rerun
 * after an interruption simply goes on.
 */
export async function deletePrefix(bucket: R2Bucket, prefix: string, budget: Budget): Promise<PrefixProgress> {
  let deleted = 0
  for (;;) {
    if (!spend(budget, 2)) return { deleted, done: false }
    const listed = await bucket.list({ prefix, limit: R2_PAGE })
    const keys = listed.objects.map((o) => o.key)
    if (keys.length === 0) {
      budget.left += 1
      return { deleted, done: true }
    }
    await bucket.delete(keys)
    deleted += keys.length
  }
}

/**
 * Where a tenant's objects live in BACKUPS: one prefix holds its encrypted
 * snapshots and the content-addressed file copies they refer to.
 */
export function backupPrefixes(tenantId: string): string[] {
  return [backupKeys.prefix(tenantId)]
}

/** Every file object of the tenant in FILES (and anything else under its prefix). */
export function eraseFileObjects(env: Pick<Env, 'FILES'>, tenantId: string, budget: Budget): Promise<PrefixProgress> {
  return deletePrefix(env.FILES, `tenants/${tenantId}/`, budget)
}

/** Every backup object of the tenant in BACKUPS, prefix after prefix. */
export async function eraseBackupObjects(env: Pick<Env, 'BACKUPS'>, tenantId: string, budget: Budget): Promise<PrefixProgress> {
  let deleted = 0
  for (const prefix of backupPrefixes(tenantId)) {
    const progress = await deletePrefix(env.BACKUPS, prefix, budget)
    deleted += progress.deleted
    if (!progress.done) return { deleted, done: false }
  }
  return { deleted, done: true }
}

/**
 * Destroys the tenant's data keys (audited on the platform chain), so any
 * copy of its ciphertexts that escaped erasure (a backup object, a
 * point-in-time copy) stays unreadable, then removes their tombstones: no
 * row naming the tenant is left. Answers whether a key was destroyed, which
 * the certificate states as it is.
 */
export async function destroyTenantKeys(env: Env, tenantId: string): Promise<boolean> {
  const { destroyed } = await destroyKeys(env, tenantId)
  await env.DB.prepare('DELETE FROM tenant_keys WHERE tenant_id = ?').bind(tenantId).run()
  return destroyed > 0
}
