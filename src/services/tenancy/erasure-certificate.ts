import { calculateJwkThumbprint, exportJWK, importJWK, importPKCS8, SignJWT, type JWK } from 'jose'
import { Problem } from '../../lib/problem'

/**
 * What Cloudflare keeps that termination cannot reach, stated in every
 * certificate instead of a claim of instant erasure.
 */
export const RETENTION_NOTICE =
  'Cloudflare keeps point-in-time recovery history of D1 databases and Durable Object storage for 30 days; ' +
  'copies of the erased data in that history expire within 30 days of erased_at and are not erased at once.'

export const CERTIFICATE_TYPE = 'erasure-certificate+jwt'

/** What an erasure certificate states (its JWT claims besides iss, sub and iat). */
export type ErasureStatement = {
  tenant: { id: string; slug: string }
  erased: {
    d1: { rows: Record<string, number>; total: number }
    files: { objects: number }
    backups: { objects: number }
    durable_objects: { session_stores: number; audit_chain: number; throttles: number }
    tenant_key: { destroyed: boolean }
  }
  /** The tenant's audit chain head read just before the trail was erased; null when it had none. */
  final_audit_head: { seq: number; hash: string } | null
  erased_at: string
  retention: string
}

/** The public half as /.well-known/jwks.json serves it. */
export type PublicJwk = { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' }

type SigningKey = { key: CryptoKey; publicJwk: PublicJwk }

let cached: { secret: string; key: Promise<SigningKey> } | null = null

function keyMissing() {
  return new Problem({
    status: 503,
    type: 'erasure-signing-key-missing',
    title: 'Erasure signing key missing',
    detail: 'ERASURE_SIGNING_KEY is not set or not an Ed25519 private key (JWK or PKCS8 PEM); nothing was erased.',
  })
}

async function load(secret: string): Promise<SigningKey> {
  const text = secret.trim()
  let key: CryptoKey
  let jwk: JWK
  if (text.startsWith('{')) {
    const parsed = JSON.parse(text) as JWK
    if (parsed.kty !== 'OKP' || parsed.crv !== 'Ed25519' || !parsed.d) throw new Error('not an Ed25519 private JWK')
    key = (await importJWK(parsed, 'EdDSA')) as CryptoKey
    jwk = parsed
  } else {
    key = await importPKCS8(text, 'EdDSA', { extractable: true })
    jwk = await exportJWK(key)
  }
  const publicJwk = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: jwk.x! }
  // The RFC 7638 thumbprint: the kid names this key and no other.
  return { key, publicJwk: { ...publicJwk, kid: await calculateJwkThumbprint(publicJwk), alg: 'EdDSA', use: 'sig' } }
}

/**
 * The certificate signing key from the ERASURE_SIGNING_KEY secret, cached
 * per isolate. A missing or unreadable key is 503 `erasure-signing-key-missing`:
 * termination checks it before it erases anything, so it never ends with
 * data gone and nothing to prove it.
 */
export function signingKey(env: Pick<Env, 'ERASURE_SIGNING_KEY'>): Promise<SigningKey> {
  const secret = env.ERASURE_SIGNING_KEY
  if (!secret) return Promise.reject(keyMissing())
  if (cached?.secret !== secret) {
    const key = load(secret).catch(() => {
      cached = null
      throw keyMissing()
    })
    cached = { secret, key }
  }
  return cached.key
}

/** The public keys that verify erasure certificates (RFC 7517), for /.well-known/jwks.json. */
export async function erasureJwks(env: Pick<Env, 'ERASURE_SIGNING_KEY'>): Promise<{ keys: PublicJwk[] }> {
  return { keys: [(await signingKey(env)).publicJwk] }
}

/** Signs the statement as a compact JWS (EdDSA over Ed25519), verifiable with the published key. */
export async function signCertificate(env: Pick<Env, 'ERASURE_SIGNING_KEY'>, statement: ErasureStatement): Promise<string> {
  const { key, publicJwk } = await signingKey(env)
  return new SignJWT({ ...statement })
    .setProtectedHeader({ alg: 'EdDSA', kid: publicJwk.kid, typ: CERTIFICATE_TYPE })
    .setIssuer('mamori')
    .setSubject(statement.tenant.id)
    .setIssuedAt(Math.floor(Date.parse(statement.erased_at) / 1000))
    .sign(key)
}
