import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { operators, users } from '../../db/schema'
import type { RequestMeta } from '../../lib/request-meta'
import { audit } from '../audit/audit'
import { hashPassword } from './passwords'

/** An account whose stored hash has older scrypt parameters than new hashes get. */
export type RehashAccount = { type: 'user' | 'operator'; id: string; tenantId: string | null; passwordHash: string }

/** The `ln=…,r=…,p=…` part of a stored hash: the cost, never the secret. */
function paramsOf(stored: string) {
  return /^scrypt\$([^$]+)\$/.exec(stored)?.[1] ?? 'unknown'
}

/**
 * Re-hashes a just-verified password with the current parameters after a
 * parameter upgrade. The write is guarded by the old hash, so it can never
 * undo a password change or forced reset that committed meanwhile, and it is
 * audited (`auth.password_rehash`, with the parameters only) in the same
 * transaction. Returns the new hash, or null when the stored hash had
 * already moved on and nothing was written.
 */
export async function rehashPassword(env: Env, db: Database, meta: RequestMeta, account: RehashAccount, password: string): Promise<string | null> {
  const hash = await hashPassword(password)
  const write =
    account.type === 'user'
      ? db
          .update(users)
          .set({ passwordHash: hash })
          .where(and(eq(users.id, account.id), eq(users.tenantId, account.tenantId!), eq(users.passwordHash, account.passwordHash)))
          .toSQL()
      : db
          .update(operators)
          .set({ passwordHash: hash })
          .where(and(eq(operators.id, account.id), eq(operators.passwordHash, account.passwordHash)))
          .toSQL()
  const result = await audit(
    env,
    meta,
    {
      tenantId: account.tenantId,
      actor: { type: account.type, id: account.id },
      action: 'auth.password_rehash',
      target: { type: account.type, id: account.id },
      outcome: 'success',
      details: { from: paramsOf(account.passwordHash), to: paramsOf(hash) },
    },
    [write],
    { guard: 0 },
  )
  return result.ok ? hash : null
}
