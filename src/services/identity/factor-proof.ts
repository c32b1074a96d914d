import type { Database } from '../../db/client'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import type { AuditAction } from '../../schemas/audit'
import { audit } from '../audit/audit'
import { inBackground } from '../../lib/defer'
import { activeFactors, verifyCurrentFactor, type KeyedAccount } from './mfa'

/**
 * The second half of re-authentication for a change to one's own second
 * factors, for tenant users and operators alike: with no factor there is
 * nothing to prove; with one, `code` must be a current one (a TOTP code, an
 * unused recovery code, or the step-up code `codeRoute` mails). Otherwise
 * 422 on `body.code`, audited as a failure of `action`. So a stolen session
 * and password together still cannot swap the victim's authenticator for
 * their own. Returns what the audit event of the change records about it.
 */
export async function assertCurrentFactor(
  env: Env,
  db: Database,
  account: KeyedAccount,
  code: string | undefined,
  meta: RequestMeta,
  action: AuditAction,
  codeRoute: string,
) {
  if ((await activeFactors(db, account.id)).length === 0) return {}
  const method = code === undefined ? null : await verifyCurrentFactor(env, db, account, code, meta, inBackground)
  if (method) return { confirmed_with: method }
  const who = { type: account.type, id: account.id }
  await audit(env, meta, {
    tenantId: account.tenantId,
    actor: who,
    action,
    target: who,
    outcome: 'failure',
    details: { reason: code === undefined ? 'second_factor_missing' : 'wrong_second_factor' },
  })
  throw Problem.validation([
    {
      path: 'body.code',
      message:
        code === undefined
          ? `Your account has a second factor: send a current code from your authenticator app, a recovery code, or the code POST ${codeRoute} mails you.`
          : 'This is not a current code of your second factor.',
    },
  ])
}
