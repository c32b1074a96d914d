import { statedAnswersOf } from '../catalogue/stated-answers'
import { defineProvider, type Bilingual, type RequirementId, type RowEvidence } from './provider'

/** Rows kept by people, not code: REQUIREMENTS.md marks most `ORG`; support hours and server location are promises too. */
const ORGANISATIONAL = ['AV-4', 'AV-7/8', 'DM-6', 'SE-2/3/4/6', 'SE-10', 'SE-24/25', 'SE-29/33/34', 'SE-42/43/44', 'SU-1/2', 'GE-7'] as const

/** What the software adds to an organisational promise, or where it stops. */
const NOTES: Partial<Record<RequirementId, Bilingual>> = {
  'SE-10': {
    en: 'The service runs no servers of its own to scan; uploaded files are not scanned in this build (they are only ever served as attachments, with nosniff and a sandbox CSP).',
    ja: '自前のサーバーを持たないためサーバーのスキャン対象なし。アップロードファイルのスキャンはこのバージョンに未搭載（ファイルは nosniff と sandbox CSP 付きの添付としてのみ配信）',
  },
  'SE-24/25': {
    en: 'The runtime is patched by Cloudflare; CI (.ci/run) runs the type check and the whole test suite on every change; a dependency audit step is not part of it yet.',
    ja: '実行環境は Cloudflare が更新。CI（.ci/run）で変更ごとに型検査と全テストを実行（依存関係の監査は未導入）',
  },
  'SE-42/43/44': {
    en: 'CI (.ci/run) runs the type check and the whole test suite on every change.',
    ja: 'CI（.ci/run）で変更ごとに型検査と全テストを実行',
  },
  'GE-7': {
    en: 'D1 and R2 are created with the APAC location hint (README, deploy step 1); the Worker cannot read where they were placed, and a hint does not guarantee Japan.',
    ja: 'D1・R2 は APAC の配置ヒントで作成（README のデプロイ手順1）。実際の配置は Worker から確認できず、ヒントは国内を保証しない',
  },
}

/** The stated answer of each organisational row, as the seed gives it. */
export const organisational = defineProvider({
  name: 'organisational',
  ids: ORGANISATIONAL,
  async collect() {
    const rows = {} as Record<(typeof ORGANISATIONAL)[number], RowEvidence>
    for (const id of ORGANISATIONAL) {
      const stated = statedAnswersOf(id)
      const note = NOTES[id]
      rows[id] = {
        status: 'organisational',
        value: stated.map((s) => s.ja),
        summary: { en: stated.map((s) => s.en).join(' / '), ja: stated.map((s) => s.ja).join(' / ') },
        evidence: { stated_answer: stated.map((s) => ({ ja: s.ja, en: s.en })) },
        ...(note ? { note } : {}),
      }
    }
    return rows
  },
})

export const ORGANISATIONAL_IDS: readonly RequirementId[] = ORGANISATIONAL
