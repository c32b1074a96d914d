import { ipInRanges } from './cidr'

/** The fields of Cloudflare's `request.cf.tlsClientAuth` the rules look at (SE-41). */
export type ClientCertificate = {
  /** "SUCCESS" when the certificate chained to a trusted CA; "NONE" or "FAILED:…" otherwise. */
  verified: string
  revoked: boolean
  /** SHA-256 fingerprint, lower-case hex. */
  fingerprint: string
}

export type RequestSource = { ip: string | null; certificate: ClientCertificate | null }

/** Per-role source rules, as a tenant policy states them (SE-16, SE-21). */
export type SourceRules = {
  ip_allowlist: Record<string, readonly string[]>
  client_cert_required: Record<string, boolean>
  /**
   * When the policy they come from was saved (ISO time; '' for the platform
   * defaults). A store keeps the newest rules it was given, so a sign-in
   * carrying rules it read before a policy change cannot bring them back.
   */
  version?: string
}

/** Whether `incoming` may replace `stored` (never an older policy over a newer one). */
export function newerRules(incoming: SourceRules, stored: SourceRules | null): boolean {
  return !stored || (incoming.version ?? '') >= (stored.version ?? '')
}

export type SourceVerdict = { ok: true } | { ok: false; rule: 'ip' | 'certificate'; detail: string }

/** Reads tlsClientAuth from a request's `cf` object; null when no certificate was presented. */
export function certificateOf(cf: unknown): ClientCertificate | null {
  const auth = (cf as { tlsClientAuth?: Record<string, unknown> } | undefined)?.tlsClientAuth
  if (!auth || auth.certPresented !== '1') return null
  return {
    verified: String(auth.certVerified ?? 'NONE'),
    revoked: auth.certRevoked === '1',
    fingerprint: String(auth.certFingerprintSHA256 ?? '').toLowerCase(),
  }
}

/**
 * Whether a request from `source` may act as `role`: the role's IP allowlist
 * (empty: anywhere) and, if the role requires one, a verified, unrevoked
 * client certificate bound to the account.
 */
export function checkSource(
  rules: SourceRules,
  role: string,
  source: RequestSource,
  boundFingerprints: readonly string[],
): SourceVerdict {
  const allowlist = rules.ip_allowlist[role] ?? []
  if (allowlist.length > 0 && !ipInRanges(source.ip, allowlist)) {
    return { ok: false, rule: 'ip', detail: `Your address ${source.ip ?? '(unknown)'} is not on the ${role} allowlist.` }
  }
  if (rules.client_cert_required[role]) {
    const cert = source.certificate
    if (!cert) return { ok: false, rule: 'certificate', detail: 'A client certificate is required and none was presented.' }
    if (cert.verified !== 'SUCCESS') return { ok: false, rule: 'certificate', detail: 'The client certificate could not be verified.' }
    if (cert.revoked) return { ok: false, rule: 'certificate', detail: 'The client certificate has been revoked.' }
    if (!boundFingerprints.includes(cert.fingerprint)) {
      return { ok: false, rule: 'certificate', detail: 'The client certificate is not bound to this account.' }
    }
  }
  return { ok: true }
}
