import type { Bilingual, EvidenceProvider, RequirementId, RowEvidence } from './provider'

/**
 * Rows whose evidence this build does not have, and why. The registry
 * consults this first, so a provider registered later for a row replaces
 * its entry here without touching this file.
 */
const PENDING: Partial<Record<RequirementId, Bilingual>> = {
  'AV-1': { en: 'Maintenance windows are not part of this build.', ja: '定期メンテナンスの時間枠はこのバージョンに未搭載' },
  'AV-2': { en: 'Scheduled outages and their notices are not part of this build.', ja: '計画停止の予定登録と通知はこのバージョンに未搭載' },
  'AV-3': { en: 'End-of-service announcements are not part of this build.', ja: 'サービス終了の告知はこのバージョンに未搭載' },
  'AV-5': { en: 'This month\u2019s availability is not computed in this build yet.', ja: '当月の稼働率はこのバージョンではまだ算出されていません' },
  'AV-6': { en: 'Backups and the restore drill are not part of this build.', ja: 'バックアップと復元訓練はこのバージョンに未搭載' },
  'AV-10': { en: 'Maintenance windows and their lead times are not part of this build.', ja: 'メンテナンスの時間枠と事前通知期限はこのバージョンに未搭載' },
  'AV-11': { en: 'Per-tenant fair-share limits are not part of this build.', ja: 'テナントごとの公平な流量制限はこのバージョンに未搭載' },
  'RE-1': { en: 'Incidents and their repair times are not recorded in this build yet.', ja: '障害と復旧時間はこのバージョンではまだ記録されていません' },
  'RE-2': { en: 'Incidents are not recorded in this build yet.', ja: '障害件数はこのバージョンではまだ記録されていません' },
  'RE-4/5/6': { en: 'Incident records and their notices are not part of this build.', ja: '障害の記録と通知はこのバージョンに未搭載' },
  'RE-7': { en: 'Status updates by e-mail and /status are not part of this build.', ja: '状況のメール報告と /status はこのバージョンに未搭載' },
  'PF-1': {
    en: 'Response times are measured by the project\u2019s benchmark (npm run bench, BENCHMARKS.md), not recorded by the running service.',
    ja: '応答時間はプロジェクトのベンチマーク（npm run bench、BENCHMARKS.md）で計測しており、稼働中のサービスでは記録していません',
  },
  'PF-2': { en: 'Rate limiting and load shedding are not part of this build.', ja: '流量制限と負荷制御はこのバージョンに未搭載' },
  'PF-3': { en: 'The nightly backup job is not part of this build.', ja: '夜間バックアップ処理はこのバージョンに未搭載' },
  'DM-1': { en: 'Backups are not part of this build.', ja: 'バックアップはこのバージョンに未搭載' },
  'DM-2': { en: 'Tenant termination and erasure are not part of this build.', ja: '解約時のデータ消去はこのバージョンに未搭載' },
  'DM-3': { en: 'Backups and their generations are not part of this build.', ja: 'バックアップとその世代管理はこのバージョンに未搭載' },
  'DM-7': { en: 'The full export before termination, and erasure after it, are not part of this build.', ja: '解約前の全データエクスポートと解約後の消去はこのバージョンに未搭載' },
  'DM-10': { en: 'Backups to the separate bucket are not part of this build.', ja: '別バケットへのバックアップはこのバージョンに未搭載' },
  'SE-11': { en: 'Encrypted backup snapshots are not part of this build.', ja: '暗号化されたバックアップはこのバージョンに未搭載' },
  'SE-35/37': { en: 'Termination with a signed erasure certificate is not part of this build.', ja: '署名付き消去証明書を伴う解約処理はこのバージョンに未搭載' },
  'SE-40': { en: 'Incident records visible to tenants are not part of this build.', ja: 'テナントが閲覧できる障害記録はこのバージョンに未搭載' },
  'GE-1/2': { en: 'The help page (/help) is not part of this build.', ja: 'ヘルプページ（/help）はこのバージョンに未搭載' },
  'GE-4/6': { en: 'Incident notices to tenant contacts are not part of this build.', ja: 'テナント窓口への障害通知はこのバージョンに未搭載' },
}

export const PENDING_IDS = Object.keys(PENDING) as RequirementId[]

export const pending: EvidenceProvider = {
  name: 'pending',
  ids: PENDING_IDS,
  async collect() {
    return Object.fromEntries(
      Object.entries(PENDING).map(([id, why]): [string, RowEvidence] => [
        id,
        { status: 'not_yet_measured', value: null, summary: { en: 'Not measured yet.', ja: '未計測' }, evidence: {}, note: why },
      ]),
    )
  },
}
