import type { Database } from '../../db/client'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import type { Principal } from '../../schemas/principal'
import { activeFactors, beginTotp, confirmTotp, enableEmailFactor, removeFactors, type MfaAccount } from './mfa'
import { getPolicy } from '../policy/policy'
import { assertCurrentPassword, currentUser } from './me'

/**
 * A tenant user's own second factors. Adding, changing or removing one needs
 * the current password again (confirming a started TOTP enrolment needs the
 * authenticator's code instead).
 */
async function me(db: Database, principal: Principal) {
  const user = await currentUser(db, principal)
  const account: MfaAccount = { type: 'user', id: user.id, tenantId: user.tenantId, email: user.email }
  return { user, account }
}

async function methods(db: Database, accountId: string) {
  return { methods: (await activeFactors(db, accountId)).map((f) => f.kind) }
}

export async function addEmailFactor(env: Env, db: Database, principal: Principal, password: string, meta: RequestMeta) {
  const { user, account } = await me(db, principal)
  await assertCurrentPassword(env, user, password, meta, 'mfa.enrolled')
  await enableEmailFactor(env, db, account, meta)
  return methods(db, user.id)
}

export async function startTotp(env: Env, db: Database, principal: Principal, password: string, meta: RequestMeta) {
  const { user, account } = await me(db, principal)
  await assertCurrentPassword(env, user, password, meta, 'mfa.totp_started')
  return beginTotp(env, db, account, meta)
}

export async function finishTotp(env: Env, db: Database, principal: Principal, code: string, meta: RequestMeta) {
  const { account } = await me(db, principal)
  return confirmTotp(env, db, account, code, meta)
}

/** Removes every factor, unless the tenant policy requires one for the caller's role. */
export async function removeMyFactors(env: Env, db: Database, principal: Principal, password: string, meta: RequestMeta) {
  const { user, account } = await me(db, principal)
  await assertCurrentPassword(env, user, password, meta, 'mfa.removed')
  const policy = await getPolicy(db, user.tenantId)
  if (policy.mfa_required[user.role]) {
    throw Problem.conflict(
      `Your organisation requires a second factor for ${user.role}s. Enrol a new one instead (it replaces the old), or ask an administrator.`,
      'mfa-required-by-policy',
    )
  }
  await removeFactors(env, db, account, meta)
}
