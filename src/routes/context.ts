import type { Context } from 'hono'
import type { AppEnv } from '../env'
import type { AuditActor, RequestMeta } from '../services/audit'

/** The request facts every audit event carries, read once from the context. */
export function requestMeta(c: Context<AppEnv>): RequestMeta {
  return {
    requestId: c.var.requestId,
    ip: c.req.header('CF-Connecting-IP') ?? null,
    userAgent: c.req.header('User-Agent')?.slice(0, 512) ?? null,
  }
}

/** The signed-in caller as an audit actor. */
export function actorOf(c: Context<AppEnv>): AuditActor {
  return { type: c.var.principal.actorType, id: c.var.principal.actorId }
}

/** The signed-in tenant user's tenant and audit identity (routes with tenant access only). */
export function tenantCaller(c: Context<AppEnv>) {
  return { tenantId: c.var.principal.tenantId!, actor: actorOf(c) }
}
