import { sql } from 'drizzle-orm'
import { HSTS_MAX_AGE_SECONDS } from '../../../lib/hsts'
import { defineProvider, type RowEvidence } from './provider'

/** What the platform under us encrypts (Cloudflare's data security pages for D1, R2 and Durable Objects). */
const AT_REST = 'D1, R2 and Durable Object storage encrypted at rest by Cloudflare (AES-256)'

/**
 * DM-4 (AES-256), DM-5 (a key per tenant), SE-23 (encrypted storage), SE-5
 * (encrypted traffic): the sealed TOTP secrets actually stored, the key
 * scheme, and this very request's transport.
 */
export const encryption = defineProvider({
  name: 'encryption',
  ids: ['DM-4', 'DM-5', 'SE-23', 'SE-5'],
  async collect(ctx) {
    const scope = ctx.tenantId === null ? sql`tenant_id IS NOT NULL` : sql`tenant_id = ${ctx.tenantId}`
    const row = await ctx.db.get<{ secrets: number | null; sealed: number | null }>(sql`
      SELECT count(*) AS secrets, sum(secret LIKE 'v1.%' OR secret LIKE 'v2.%') AS sealed
      FROM mfa_factors WHERE ${scope} AND kind = 'totp' AND secret IS NOT NULL`)
    // DM-5: the tenant's own data keys (or, platform-wide, how many tenants have one), never their bytes.
    const keys = await ctx.db.get<{ keys: number | null; owners: number | null }>(sql`
      SELECT count(*) AS keys, count(DISTINCT tenant_id) AS owners
      FROM tenant_keys WHERE ${scope} AND purpose = 'data' AND wrapped IS NOT NULL`)
    const dataKeys = Number(keys?.keys ?? 0)
    const keyOwners = Number(keys?.owners ?? 0)
    const secrets = Number(row?.secrets ?? 0)
    const sealed = Number(row?.sealed ?? 0)
    const allSealed = sealed === secrets
    const masterKey = Boolean(ctx.env.MASTER_KEY)
    const transport = ctx.transport
    const https = transport === null || transport.protocol === 'https:'
    const tls = transport?.tlsVersion ? `${transport.tlsVersion}${transport.tlsCipher ? ` ${transport.tlsCipher}` : ''}` : null
    const se5: RowEvidence = {
      status: https ? 'met' : 'not_met',
      value: { hsts_max_age_seconds: HSTS_MAX_AGE_SECONDS, this_request: transport ? { protocol: transport.protocol, tls } : null },
      summary: https
        ? {
            en: `HTTPS only: every response carries HSTS (max-age ${HSTS_MAX_AGE_SECONDS}, includeSubDomains, preload)${tls ? `; this request used ${tls}` : ''}. TLS is terminated by Cloudflare with AES-GCM (128/256) or ChaCha20 suites.`,
            ja: `HTTPS のみ: 全レスポンスに HSTS（max-age ${HSTS_MAX_AGE_SECONDS}、includeSubDomains、preload）${tls ? `。このリクエストは ${tls}` : ''}。TLS は Cloudflare が AES-GCM（128/256）等で終端`,
          }
        : { en: `This request arrived over plain HTTP (${transport!.protocol}).`, ja: `このリクエストは暗号化されていない HTTP で届きました（${transport!.protocol}）` },
      evidence: { hsts: `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains; preload`, this_request: transport ? { protocol: transport.protocol, tls_version: transport.tlsVersion, tls_cipher: transport.tlsCipher } : null },
    }
    return {
      'DM-4': {
        status: allSealed ? 'met' : 'not_met',
        value: { algorithm: 'AES-256-GCM', totp_secrets: secrets, sealed },
        summary: {
          en: `Sensitive fields are encrypted with AES-256-GCM: ${sealed} of ${secrets} stored TOTP secrets are sealed; ${AT_REST}.`,
          ja: `機密項目は AES-256-GCM で暗号化: 保存中の TOTP シークレット ${sealed}/${secrets}件が暗号化済み。D1・R2・Durable Object のストレージは Cloudflare が保存時に暗号化（AES-256）`,
        },
        evidence: { field_encryption: 'AES-256-GCM, 96-bit random IV, additional data binds each value to its owner', totp_secrets: secrets, totp_secrets_sealed: sealed, at_rest: AT_REST },
      },
      'DM-5': {
        status: masterKey ? 'met' : 'not_met',
        value: { scheme: 'random AES-256 data key per tenant, wrapped under the master key', data_keys: dataKeys, tenants_with_keys: keyOwners },
        summary: {
          en: `Each tenant has its own random 256-bit data key, stored only wrapped (AES-256-GCM) under the master key (a secret, never in the database), and every ciphertext names its key, so no key serves two tenants and a tenant's key can be destroyed; ${ctx.tenantId === null ? `${keyOwners} tenants hold one` : `this tenant holds ${dataKeys}`}.`,
          ja: `テナントごとに乱数の 256 ビットのデータ鍵を持ち、マスター鍵（データベース外のシークレット）で AES-256-GCM によりラップした形でのみ保存。暗号文は使う鍵の ID を持つため、鍵を複数テナントで共有せず、テナントの鍵は破棄できる（${ctx.tenantId === null ? `${keyOwners} テナントが保有` : `このテナントの鍵: ${dataKeys}件`}）`,
        },
        evidence: {
          data_key: 'AES-256-GCM, 256 random bits per tenant, wrapped with AES-256-GCM under an HKDF-SHA-256 key from the master key; ciphertexts v2.<key id>.<iv>.<ct>',
          data_keys: dataKeys,
          audit_chain_key_info: `audit-chain:${ctx.tenantId ?? '<chain>'}`,
          master_key_configured: masterKey,
        },
      },
      'SE-23': {
        status: allSealed ? 'met' : 'not_met',
        value: { at_rest: AT_REST, field_encryption: 'AES-256-GCM' },
        summary: {
          en: `${AT_REST}; secrets are also protected by the app: TOTP secrets sealed with AES-256-GCM (${sealed}/${secrets}), passwords as scrypt hashes, one-time and recovery codes as HMACs.`,
          ja: `D1・R2・Durable Object のストレージは Cloudflare が保存時に暗号化（AES-256）。さらにアプリ側で TOTP シークレットを AES-256-GCM で暗号化（${sealed}/${secrets}件）、パスワードは scrypt ハッシュ、ワンタイムコード・リカバリーコードは HMAC で保存`,
        },
        evidence: { at_rest: AT_REST, totp_secrets: secrets, totp_secrets_sealed: sealed },
      },
      'SE-5': se5,
    }
  },
})
