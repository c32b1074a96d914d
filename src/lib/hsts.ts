/**
 * HSTS max-age every response carries (two years, with includeSubDomains and
 * preload): browsers then never use plain HTTP for this host (SE-5). One
 * constant, so the header and the SLA report's evidence cannot disagree.
 */
export const HSTS_MAX_AGE_SECONDS = 63_072_000

export function hstsHeader(maxAge = HSTS_MAX_AGE_SECONDS): string {
  return `max-age=${maxAge}; includeSubDomains; preload`
}
