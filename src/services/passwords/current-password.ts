import type { Database } from '../../db/client'
import { inBackground, type Defer } from '../../lib/defer'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import type { AuditAction } from '../../schemas/audit'
import { accountKey } from '../abuse/keys'
import { guardCurrentPassword } from '../abuse/reauth-gate'
import { audit } from '../audit/audit'
import { verifyPassword } from './passwords'

/** Whoever re-authenticates: a tenant user or an operator, with the throttle realm their sign-in uses. */
export type Reauthenticating = {
  type: 'user' | 'operator'
  id: string
  /** null for operators (the platform chain). */
  tenantId: string | null
  email: string
  passwordHash: string
  realm: string
}

/**
 * A signed-in account's current password, re-checked before a password or
 * factor change, for tenant users and operators alike: 422 on
 * `body.current_password` when wrong, audited as a failure of `action`,
 * behind the account's `reauth` throttle (10 wrong in a row, then 429 with a
 * growing wait, before the password is even verified).
 */
export async function assertCurrentPasswordThrottled(
  env: Env,
  db: Database,
  who: Reauthenticating,
  password: string,
  meta: RequestMeta,
  action: AuditAction,
  defer: Defer = inBackground,
): Promise<void> {
  const subject = { tenantId: who.tenantId, account: { type: who.type, id: who.id, email: who.email }, identity: { email: who.email } }
  await guardCurrentPassword(env, db, meta, defer, accountKey(who.realm, who.email), subject, async () => {
    if ((await verifyPassword(password, who.passwordHash)).ok) return
    const self = { type: who.type, id: who.id }
    await audit(env, meta, { tenantId: who.tenantId, actor: self, action, target: self, outcome: 'failure', details: { reason: 'wrong_current_password' } })
    throw Problem.validation([{ path: 'body.current_password', message: 'This is not your current password.' }])
  })
}
