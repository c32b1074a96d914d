import type { RequestMeta } from '../../lib/request-meta'
import type { Principal } from '../../schemas/principal'
import { audit } from '../audit/audit'
import { endSession } from './sessions'

/** Ends the caller's session. */
export async function signOut(env: Env, principal: Principal, meta: RequestMeta) {
  await endSession(env, principal)
  await audit(env, meta, {
    tenantId: principal.tenantId,
    actor: { type: principal.actorType, id: principal.actorId },
    action: 'auth.logout',
    target: { type: 'session', id: principal.sessionId },
    outcome: 'success',
  })
}
