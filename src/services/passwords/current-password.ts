import type { Database } from '../../db/client'
import { inBackground, type Defer } from '../../lib/defer'
import type { RequestMeta } from '../../lib/request-meta'
import type { AuditAction } from '../../schemas/audit'
import { accountKey, tenantRealm } from '../abuse/keys'
import { guardCurrentPassword } from '../abuse/reauth-gate'
import type { UserRow } from '../accounts/users'
import { assertCurrentPassword } from '../identity/me'

/**
 * A signed-in tenant user's current password, re-checked before a password
 * or factor change (422 on `body.current_password` when wrong, audited under
 * `action`), behind the account's `reauth` throttle: 10 wrong in a row,
 * then 429 with a growing wait, before the password is even verified.
 */
export async function assertCurrentPasswordThrottled(
  env: Env,
  db: Database,
  user: UserRow & { tenantSlug: string },
  password: string,
  meta: RequestMeta,
  action: AuditAction,
  defer: Defer = inBackground,
): Promise<void> {
  const subject = { tenantId: user.tenantId, account: { type: 'user' as const, id: user.id, email: user.email }, identity: { email: user.email } }
  await guardCurrentPassword(env, db, meta, defer, accountKey(tenantRealm(user.tenantSlug), user.email), subject, () =>
    assertCurrentPassword(env, user, password, meta, action),
  )
}
