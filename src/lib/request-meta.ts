import { certificateOf, type RequestSource } from './source-rules'

/** The slice of a Hono context these helpers read (kept structural so lib/ stays a leaf). */
type RequestLike = {
  req: { header(name: string): string | undefined; raw: Request }
  var: { requestId: string; serviceRequestId?: string }
}

/** Where a request came from, as the audit trail records it. */
export type RequestMeta = {
  /** The caller's sane X-Request-Id, else the service's own ID. */
  requestId: string
  /** The service's own ID, which no caller chooses; jobs without a caller may leave it to requestId. */
  serviceRequestId?: string
  ip: string | null
  userAgent: string | null
}

export function requestMeta(c: RequestLike): RequestMeta {
  return {
    requestId: c.var.requestId,
    ...(c.var.serviceRequestId ? { serviceRequestId: c.var.serviceRequestId } : {}),
    ip: c.req.header('CF-Connecting-IP') ?? null,
    userAgent: c.req.header('User-Agent')?.slice(0, 512) ?? null,
  }
}

/** The client address (CF-Connecting-IP) and TLS client certificate, for source rules. */
export function requestSource(c: RequestLike): RequestSource {
  return { ip: c.req.header('CF-Connecting-IP') ?? null, certificate: certificateOf((c.req.raw as { cf?: unknown }).cf) }
}
