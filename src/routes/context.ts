import type { Context } from 'hono'
import type { AppEnv } from '../env'
import type { Defer } from '../lib/defer'
import type { AuditActor } from '../services/audit/audit'

export { requestMeta, requestSource } from '../lib/request-meta'

/** The signed-in caller as an audit actor. */
export function actorOf(c: Context<AppEnv>): AuditActor {
  return { type: c.var.principal.actorType, id: c.var.principal.actorId }
}

/** The signed-in tenant user's tenant and audit identity (routes with tenant access only). */
export function tenantCaller(c: Context<AppEnv>) {
  return { tenantId: c.var.principal.tenantId!, actor: actorOf(c) }
}

/** Lets a service finish work after the response (mail delivery) without seeing the context. */
export function defer(c: Context<AppEnv>): Defer {
  return (work) => {
    try {
      c.executionCtx.waitUntil(work)
    } catch {
      // No execution context (app.request in a unit test): just let it run.
      void work
    }
  }
}
