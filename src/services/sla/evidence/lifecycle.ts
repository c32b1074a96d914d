import { RETENTION_NOTICE, signingKey } from '../../tenancy/erasure-certificate'
import { monthEvents } from './facts'
import { defineProvider, plural } from './provider'

/**
 * DM-2 and SE-35/37 (termination erases every row, object, Durable Object
 * state and key of a tenant, and issues a signed certificate) and DM-7 (the
 * whole-data export before it), from this month's events and the signing key
 * in force. No query of its own: the month's events are shared.
 */
export const lifecycle = defineProvider({
  name: 'lifecycle',
  ids: ['DM-2', 'DM-7', 'SE-35/37'],
  async collect(ctx) {
    const events = await monthEvents(ctx)
    const month = ctx.month.month
    const kid = await signingKey(ctx.env).then((k) => k.publicJwk.kid, () => null)
    const exports = events.count('data.export')
    // Terminations are recorded on the platform chain: only the platform view counts them.
    const terminations = ctx.tenantId === null ? { requested: events.count('tenant.terminate'), erased: events.count('tenant.erased') } : null
    const certificate = kid
      ? { en: `signed with Ed25519 key ${kid}, published at /.well-known/jwks.json`, ja: `Ed25519 鍵 ${kid} で署名（公開鍵は /.well-known/jwks.json）` }
      : { en: 'no signing key is configured (ERASURE_SIGNING_KEY), so termination is refused until one is', ja: '署名鍵（ERASURE_SIGNING_KEY）が未設定のため、設定されるまで解約処理は拒否されます' }
    const counted = terminations
      ? { en: ` In ${month}: ${plural(terminations.requested, 'termination')} requested, ${terminations.erased} completed.`, ja: ` ${month}: 解約要求 ${terminations.requested}件、消去完了 ${terminations.erased}件` }
      : { en: '', ja: '' }
    const erasure = {
      status: kid ? ('met' as const) : ('not_met' as const),
      value: { signing_key_id: kid, ...(terminations ? { terminations_this_month: terminations } : {}) },
      evidence: {
        route: 'DELETE /ops/v1/tenants/{id}',
        erased: ['every D1 row of the tenant (audit trail included)', 'FILES objects', 'BACKUPS snapshots and blobs', 'session stores, audit chain object, throttles', 'the tenant data key'],
        certificate: 'GET /ops/v1/tenants/{id}/certificate (compact JWS, EdDSA)',
        jwks: '/.well-known/jwks.json',
        signing_key_id: kid,
        ...(terminations ? { terminations_this_month: terminations } : {}),
      },
      note: { en: RETENTION_NOTICE, ja: 'Cloudflare は D1 と Durable Object ストレージのポイントインタイム復旧用の履歴を30日間保持します。消去したデータのその履歴内の複製は即時には消えず、消去から30日以内に失効します' },
    }
    return {
      'DM-2': {
        ...erasure,
        summary: {
          en: `Termination erases every row, file, backup, Durable Object state and the data key of the tenant, then issues an erasure certificate ${certificate.en}.${counted.en}`,
          ja: `解約時にテナントの全レコード・ファイル・バックアップ・Durable Object の状態・データ鍵を消去し、消去証明書を発行（${certificate.ja}）。${counted.ja}`,
        },
      },
      'SE-35/37': {
        ...erasure,
        summary: {
          en: `An erasure certificate states per store what was erased with counts and the final audit chain head, ${certificate.en}; the destroyed tenant key leaves any escaped copy unreadable.${counted.en}`,
          ja: `消去証明書に保存先ごとの消去件数と最終の操作ログチェーンの先頭を記載（${certificate.ja}）。テナント鍵を破棄するため、残存した複製も復号できません。${counted.ja}`,
        },
      },
      'DM-7': {
        status: 'met',
        value: { exports_this_month: exports },
        summary: {
          en: `The whole data can be returned before termination: GET /api/v1/export streams every table as NDJSON with file hashes and download paths (permission export, audited as a data extraction, 10 an hour); termination then erases it. ${plural(exports, 'export')} in ${month}.`,
          ja: `解約前に全データを返却可能: GET /api/v1/export が全テーブルを NDJSON で出力（ファイルはハッシュとダウンロードパス付き、export 権限、データ抽出として記録、1時間10回まで）。その後、解約で消去。${month} のエクスポート ${exports}件`,
        },
        evidence: { export: 'GET /api/v1/export', permission: 'export', exports_this_month: exports, erasure: 'DELETE /ops/v1/tenants/{id}' },
      },
    }
  },
})
