import type { Bilingual, EvidenceProvider, RequirementId, RowEvidence } from './provider'

/**
 * Rows whose evidence this build does not have, and why. The registry
 * consults this first, so a provider registered later for a row replaces
 * its entry here without touching this file.
 */
const PENDING: Partial<Record<RequirementId, Bilingual>> = {
  'PF-1': {
    en: 'Response times are measured by the project\u2019s benchmark (npm run bench, BENCHMARKS.md), not recorded by the running service.',
    ja: '応答時間はプロジェクトのベンチマーク（npm run bench、BENCHMARKS.md）で計測しており、稼働中のサービスでは記録していません',
  },
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
