import { rateLimitHeaders, type RateLimitState } from './rate-limit-headers'

/**
 * RFC 9457 problem details: the only error type in Mamori.
 *
 * Services throw a `Problem`; `app.onError` is the only place that renders
 * it. `type` is the short slug the HTTP contract fixes (`validation`,
 * `not-found`, `invalid-credentials`, ...), `title` a stable summary of that
 * type, `detail` a human sentence about this occurrence.
 */
export type ProblemField = { path: string; message: string; code?: string }

export type ProblemInit = {
  status: number
  type: string
  title: string
  detail?: string
  errors?: ProblemField[]
  headers?: Record<string, string>
  /** Extra members of the problem document (RFC 9457 §3.2). */
  extra?: Record<string, unknown>
}

export class Problem extends Error {
  readonly status: number
  readonly type: string
  readonly title: string
  readonly detail: string | undefined
  readonly errors: ProblemField[] | undefined
  readonly headers: Record<string, string>
  readonly extra: Record<string, unknown>

  constructor(init: ProblemInit) {
    super(init.detail ?? init.title)
    this.name = 'Problem'
    this.status = init.status
    this.type = init.type
    this.title = init.title
    this.detail = init.detail
    this.errors = init.errors
    this.headers = init.headers ?? {}
    this.extra = init.extra ?? {}
  }

  /** The JSON body, with the request ID the caller can quote to support. */
  toJSON(requestId: string): Record<string, unknown> {
    return {
      ...this.extra,
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.detail ?? this.title,
      request_id: requestId,
      ...(this.errors ? { errors: this.errors } : {}),
    }
  }

  static validation(errors: ProblemField[], detail = 'The request has invalid fields.') {
    return new Problem({ status: 422, type: 'validation', title: 'Validation failed', detail, errors })
  }

  static badRequest(detail: string, type = 'bad-request') {
    return new Problem({ status: 400, type, title: 'Bad request', detail })
  }

  static unauthenticated(detail = 'Sign in first: send a valid bearer token.') {
    return new Problem({
      status: 401,
      type: 'unauthenticated',
      title: 'Authentication required',
      detail,
      headers: { 'WWW-Authenticate': 'Bearer' },
    })
  }

  static invalidCredentials() {
    return new Problem({
      status: 401,
      type: 'invalid-credentials',
      title: 'Invalid credentials',
      detail: 'The tenant, e-mail or password is wrong.',
    })
  }

  static forbidden(detail: string, type = 'forbidden') {
    return new Problem({ status: 403, type, title: 'Forbidden', detail })
  }

  static notFound(what: string, id?: string) {
    return new Problem({
      status: 404,
      type: 'not-found',
      title: 'Not found',
      detail: id === undefined ? `No such ${what}.` : `No ${what} with id ${JSON.stringify(id)}.`,
    })
  }

  /** What an unknown path answers (and routes that only exist in some environments). */
  static noRoute(path: string) {
    return new Problem({ status: 404, type: 'not-found', title: 'Not found', detail: `No route for ${path}.` })
  }

  /** An edit computed from a version someone else changed meanwhile (optimistic concurrency). */
  static editConflict(detail: string) {
    return new Problem({ status: 409, type: 'edit-conflict', title: 'Conflict', detail })
  }

  static conflict(detail: string, type = 'conflict') {
    return new Problem({ status: 409, type, title: 'Conflict', detail })
  }

  /**
   * The tenant's (or the platform's) audit chain failed its integrity check,
   * so no change can be recorded, and a change that cannot be recorded is not
   * made. Lifts once the rows written behind the chain's back are removed.
   */
  static auditChainBroken() {
    return new Problem({
      status: 503,
      type: 'audit-chain-broken',
      title: 'Audit trail unavailable',
      detail: 'The audit trail failed its integrity check, so no change can be recorded now. The break is logged for the operators; changes resume once they have restored the trail.',
    })
  }

  /**
   * A maintenance window, outage or end of service announced with less notice
   * than its rule (AV-2, AV-3, AV-10) and not marked as an emergency.
   */
  static leadTimeTooShort(detail: string, field: string, earliest: string) {
    return new Problem({
      status: 422,
      type: 'lead-time-too-short',
      title: 'Not enough notice',
      detail,
      errors: [{ path: field, message: detail }],
      extra: { earliest_allowed: earliest },
    })
  }

  /**
   * Maintenance (503): the platform or the caller's tenant is switched off
   * by an operator or a maintenance window. `Retry-After` says when it is
   * planned to end; `message` is the operator's text, as given.
   */
  static maintenance(info: { message: string | null; until: string | null; retryAfterSeconds: number }) {
    const detail =
      info.message ??
      (info.until ? `Mamori is under maintenance until ${info.until}. Please try again then.` : 'Mamori is under maintenance. Please try again shortly.')
    return new Problem({
      status: 503,
      type: 'maintenance',
      title: 'Under maintenance',
      detail,
      headers: { 'Retry-After': String(Math.max(1, Math.ceil(info.retryAfterSeconds))) },
      extra: { message: detail, until: info.until },
    })
  }

  static payloadTooLarge(maxBytes: number) {
    return new Problem({
      status: 413,
      type: 'payload-too-large',
      title: 'Payload too large',
      detail: `The request body exceeds the limit of ${maxBytes} bytes.`,
      extra: { max_bytes: maxBytes },
    })
  }

  /**
   * Throttled (429): a limit refused the request before any work was done.
   * `Retry-After` says when to try again, and `policies` become the IETF
   * RateLimit fields (lib/rate-limit-headers.ts) naming what refused: its quota,
   * its window (left out when it does not renew by itself, as for a lock) and
   * when it renews. Every throttle and quota answers through this one place.
   */
  static tooManyRequests(retryAfterSeconds: number, detail: string, policies: RateLimitState[] = []) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds))
    return new Problem({
      status: 429,
      type: 'too-many-requests',
      title: 'Too many requests',
      detail,
      headers: { 'Retry-After': String(seconds), ...(policies.length > 0 ? rateLimitHeaders(policies) : {}) },
    })
  }
}
