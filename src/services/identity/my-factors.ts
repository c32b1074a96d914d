import type { Database } from '../../db/client'
import type { Defer } from '../../lib/defer'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import type { Principal } from '../../schemas/principal'
import {
  activeFactors,
  beginTotp,
  confirmTotp,
  enableEmailFactor,
  removeFactors,
  sendStepUpCode,
  type KeyedAccount,
} from './mfa'
import { assertCurrentFactor } from './factor-proof'
import { tenantRealm } from '../abuse/keys'
import { pickLocale } from '../../i18n'
import { assertCurrentPasswordThrottled } from '../passwords/current-password'
import { getPolicy } from '../policy/policy'
import { currentUser, reauthenticatingUser } from './me'

/**
 * A tenant user's own second factors. Adding, changing or removing one needs
 * the current password again (confirming a started TOTP enrolment needs the
 * authenticator's code instead). Replacing or removing factors also needs a
 * current second factor when the account has one, so a stolen session and
 * password together still cannot swap the victim's authenticator for their own.
 * Both checks are throttled per account: wrong current passwords by `reauth`,
 * wrong codes by the same run of wrong codes as sign-in challenges (`mfa`).
 */
async function me(db: Database, principal: Principal) {
  const user = await currentUser(db, principal)
  const account: KeyedAccount = { type: 'user', id: user.id, tenantId: user.tenantId, email: user.email, realm: tenantRealm(user.tenantSlug), locale: pickLocale(user.language, user.tenantLanguage) }
  return { user, account }
}

/** Where a tenant user gets a mailed code that confirms a factor change. */
const STEP_UP_ROUTE = '/api/v1/me/mfa/code'

async function methods(db: Database, accountId: string) {
  return { methods: (await activeFactors(db, accountId)).map((f) => f.kind) }
}

export async function addEmailFactor(env: Env, db: Database, principal: Principal, password: string, meta: RequestMeta) {
  const { user, account } = await me(db, principal)
  await assertCurrentPasswordThrottled(env, db, reauthenticatingUser(user), password, meta, 'mfa.enrolled')
  await enableEmailFactor(env, db, account, meta)
  return methods(db, user.id)
}

/** Mails the caller a code that confirms a factor change (for accounts with e-mail as a factor). */
export async function mailFactorChangeCode(env: Env, db: Database, principal: Principal, meta: RequestMeta, defer: Defer) {
  const { account } = await me(db, principal)
  return sendStepUpCode(env, db, account, meta, defer)
}

export async function startTotp(env: Env, db: Database, principal: Principal, input: { current_password: string; code?: string | undefined }, meta: RequestMeta) {
  const { user, account } = await me(db, principal)
  await assertCurrentPasswordThrottled(env, db, reauthenticatingUser(user), input.current_password, meta, 'mfa.totp_started')
  const confirmed = await assertCurrentFactor(env, db, account, input.code, meta, 'mfa.totp_started', STEP_UP_ROUTE)
  return beginTotp(env, db, account, meta, confirmed)
}

export async function finishTotp(env: Env, db: Database, principal: Principal, code: string, meta: RequestMeta) {
  const { account } = await me(db, principal)
  return confirmTotp(env, db, account, code, meta)
}

/** Removes every factor, unless the tenant policy requires one for the caller's role. */
export async function removeMyFactors(env: Env, db: Database, principal: Principal, input: { current_password: string; code?: string | undefined }, meta: RequestMeta) {
  const { user, account } = await me(db, principal)
  await assertCurrentPasswordThrottled(env, db, reauthenticatingUser(user), input.current_password, meta, 'mfa.removed')
  const policy = await getPolicy(db, user.tenantId)
  if (policy.mfa_required[user.role]) {
    throw Problem.conflict(
      `Your organisation requires a second factor for ${user.role}s. Enrol a new one instead (it replaces the old), or ask an administrator.`,
      'mfa-required-by-policy',
    )
  }
  const confirmed = await assertCurrentFactor(env, db, account, input.code, meta, 'mfa.removed', STEP_UP_ROUTE)
  await removeFactors(env, db, account, meta, confirmed)
}
