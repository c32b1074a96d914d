import type { Bilingual, EvidenceProvider, RequirementId, RowEvidence } from './provider'

/**
 * Rows whose evidence this build does not have, and why. The registry
 * consults this first, so a provider registered later for a row replaces
 * its entry here without touching this file.
 */
const PENDING: Partial<Record<RequirementId, Bilingual>> = {
  'AV-1': { en: 'Maintenance windows and the standing monthly window are built (GET /ops/v1/maintenance-windows); this report does not read them as evidence yet.', ja: '定期メンテナンスの時間枠は実装済み（GET /ops/v1/maintenance-windows）。本レポートでの証跡表示は未対応' },
  'AV-2': { en: 'Outages need 30 days\u2019 notice unless an emergency with a reason, and are mailed to tenants; this report does not read them as evidence yet.', ja: '計画停止は30日前までの登録（緊急時は理由必須）と通知を実装済み。本レポートでの証跡表示は未対応' },
  'AV-3': { en: 'End-of-service announcements need 183 days\u2019 lead and are mailed to tenants; this report does not read them as evidence yet.', ja: 'サービス終了の告知（183日前まで）は実装済み。本レポートでの証跡表示は未対応' },
  'AV-5': { en: 'This month\u2019s availability is not computed in this build yet.', ja: '当月の稼働率はこのバージョンではまだ算出されていません' },
  'AV-6': { en: 'Backups and the restore drill are not part of this build.', ja: 'バックアップと復元訓練はこのバージョンに未搭載' },
  'AV-10': { en: 'Maintenance needs 7 days\u2019 notice unless an emergency with a reason; this report does not read the windows as evidence yet.', ja: 'メンテナンスは7日前までの登録（緊急時は理由必須）を実装済み。本レポートでの証跡表示は未対応' },
  'AV-11': { en: 'Per-tenant request quotas are enforced in each tenant\u2019s session store (GET /api/v1/usage); this report does not read them as evidence yet.', ja: 'テナントごとの流量制限は実装済み（GET /api/v1/usage）。本レポートでの証跡表示は未対応' },
  'RE-1': { en: 'Incidents and their repair times are not recorded in this build yet.', ja: '障害と復旧時間はこのバージョンではまだ記録されていません' },
  'RE-2': { en: 'Incidents are not recorded in this build yet.', ja: '障害件数はこのバージョンではまだ記録されていません' },
  'RE-4/5/6': { en: 'Incidents are recorded and mailed to affected tenants at once and on every update; this report does not read them as evidence yet.', ja: '障害の記録と影響テナントへの即時・更新ごとの通知は実装済み。本レポートでの証跡表示は未対応' },
  'RE-7': { en: 'Status updates by e-mail and GET /status are built; this report does not read them as evidence yet.', ja: '状況のメール報告と GET /status は実装済み。本レポートでの証跡表示は未対応' },
  'PF-1': {
    en: 'Response times are measured by the project\u2019s benchmark (npm run bench, BENCHMARKS.md), not recorded by the running service.',
    ja: '応答時間はプロジェクトのベンチマーク（npm run bench、BENCHMARKS.md）で計測しており、稼働中のサービスでは記録していません',
  },
  'PF-2': { en: 'Per-address ceilings, sign-in throttles and per-tenant quotas are built (recovery within a minute); this report does not read them as evidence yet.', ja: 'IP単位の上限、サインインの試行制限、テナント単位の流量制限は実装済み。本レポートでの証跡表示は未対応' },
  'PF-3': { en: 'The nightly backup job is not part of this build.', ja: '夜間バックアップ処理はこのバージョンに未搭載' },
  'DM-1': { en: 'Backups are not part of this build.', ja: 'バックアップはこのバージョンに未搭載' },
  'DM-2': { en: 'Tenant termination and erasure are not part of this build.', ja: '解約時のデータ消去はこのバージョンに未搭載' },
  'DM-3': { en: 'Backups and their generations are not part of this build.', ja: 'バックアップとその世代管理はこのバージョンに未搭載' },
  'DM-7': { en: 'The full export before termination, and erasure after it, are not part of this build.', ja: '解約前の全データエクスポートと解約後の消去はこのバージョンに未搭載' },
  'DM-10': { en: 'Backups to the separate bucket are not part of this build.', ja: '別バケットへのバックアップはこのバージョンに未搭載' },
  'SE-11': { en: 'Encrypted backup snapshots are not part of this build.', ja: '暗号化されたバックアップはこのバージョンに未搭載' },
  'SE-35/37': { en: 'Termination with a signed erasure certificate is not part of this build.', ja: '署名付き消去証明書を伴う解約処理はこのバージョンに未搭載' },
  'SE-40': { en: 'Tenant admins see the incidents that affect them (GET /api/v1/incidents); this report does not read them as evidence yet.', ja: 'テナント管理者は影響する障害を閲覧可能（GET /api/v1/incidents）。本レポートでの証跡表示は未対応' },
  'GE-1/2': { en: 'The help page (/help) is not part of this build.', ja: 'ヘルプページ（/help）はこのバージョンに未搭載' },
  'GE-4/6': { en: 'Incident notices to tenant contacts and admins are built; this report does not read them as evidence yet.', ja: 'テナント窓口・管理者への障害通知は実装済み。本レポートでの証跡表示は未対応' },
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
