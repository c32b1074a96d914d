import { decodeCursor, page } from '../../lib/cursor'
import { ID_PATTERN } from '../../lib/ids'
import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import type { Principal } from '../../schemas/principal'
import { audit } from '../audit/audit'
import { endTenantSession, listTenantSessions } from './sessions'

/** Admins see every session of the tenant; everyone else only their own. */
function scopeFor(principal: Principal) {
  return principal.role === 'admin' ? null : principal.actorId
}

/** Live sessions, newest first, in pages (session ids sort by creation time). */
export async function listSessions(env: Env, principal: Principal, limit: number, cursor: string | undefined) {
  const after = decodeCursor(cursor, ID_PATTERN)
  const sessions = (await listTenantSessions(env, principal.tenantId!, scopeFor(principal)))
    .filter((s) => !after || s.id < after)
    .sort((a, b) => (a.id < b.id ? 1 : -1))
  return page(
    sessions.slice(0, limit + 1).map((s) => ({
      id: s.id,
      user_id: s.actorId,
      kind: s.kind,
      current: s.id === principal.sessionId,
      created_at: s.createdAt,
      last_seen_at: s.lastSeenAt,
      expires_at: s.expiresAt,
      ip: s.ip,
      user_agent: s.userAgent,
    })),
    limit,
    (s) => s.id,
  )
}

/** Ends a session: any of the tenant's for an admin, one's own otherwise (another's is a 404). */
export async function revokeSession(env: Env, principal: Principal, sessionId: string, meta: RequestMeta) {
  const ended = /^ses_[0-9a-z]{26}$/.test(sessionId) && (await endTenantSession(env, principal.tenantId!, sessionId, scopeFor(principal)))
  if (!ended) throw Problem.notFound('session', sessionId)
  await audit(env, meta, {
    tenantId: principal.tenantId,
    actor: { type: 'user', id: principal.actorId },
    action: 'session.revoke',
    target: { type: 'session', id: sessionId },
    outcome: 'success',
  })
}
