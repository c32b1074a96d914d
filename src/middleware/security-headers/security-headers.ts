import type { MiddlewareHandler } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { HSTS_MAX_AGE_SECONDS, hstsHeader } from '../../lib/hsts'

export type SecurityHeadersOptions = {
  /** HSTS max-age in seconds. Default two years, with includeSubDomains and preload. */
  hstsMaxAge?: number
}

/**
 * Security headers on every response (SE-5, SE-32): HSTS, nosniff, no
 * framing, no referrer, and a strict Content-Security-Policy that only lets
 * our own pages load our own scripts and styles: no inline code, no third
 * parties, no framing. JSON responses carry it too, where it costs nothing.
 * A response that sets one of these headers itself keeps its own, which
 * routes use only to be stricter (file downloads: `Content-Security-Policy: sandbox`).
 *
 * @example app.use(securityHeaders())
 */
export const securityHeaders = ({ hstsMaxAge = HSTS_MAX_AGE_SECONDS }: SecurityHeadersOptions = {}): MiddlewareHandler => {
  const headers = secureHeaders({
    overwrite: false,
    strictTransportSecurity: hstsHeader(hstsMaxAge),
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
    crossOriginOpenerPolicy: 'same-origin',
    crossOriginResourcePolicy: 'same-origin',
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    permissionsPolicy: { camera: [], microphone: [], geolocation: [], payment: [] },
  })
  return async function securityHeaders(c, next) {
    return headers(c, next)
  }
}
