import { certificateOf, type RequestSource } from './source-rules'

/** The slice of a Hono context these helpers read (kept structural so lib/ stays a leaf). */
type RequestLike = {
  req: { header(name: string): string | undefined; raw: Request }
  var: { requestId: string }
}

/** Where a request came from, as the audit trail records it. */
export type RequestMeta = { requestId: string; ip: string | null; userAgent: string | null }

export function requestMeta(c: RequestLike): RequestMeta {
  return {
    requestId: c.var.requestId,
    ip: c.req.header('CF-Connecting-IP') ?? null,
    userAgent: c.req.header('User-Agent')?.slice(0, 512) ?? null,
  }
}

/** The client address (CF-Connecting-IP) and TLS client certificate, for source rules. */
export function requestSource(c: RequestLike): RequestSource {
  return { ip: c.req.header('CF-Connecting-IP') ?? null, certificate: certificateOf((c.req.raw as { cf?: unknown }).cf) }
}
