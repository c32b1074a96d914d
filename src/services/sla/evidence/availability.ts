import { availabilityFacts } from './operations-facts'
import { defineProvider, plural } from './provider'

/** The commitments: 99.90% monthly availability (AV-5), repairs in about 30 minutes on average (RE-1). */
const AVAILABILITY_TARGET = 0.999
const MTTR_TARGET_MINUTES = 30

const percent = (ratio: number) => `${(ratio * 100).toFixed(3)}%`

/**
 * AV-5 (availability), RE-1 (mean time to repair), RE-2 (incidents, and
 * those over a day) for the report month, platform-wide or for the tenant,
 * from the operations module's incident and maintenance records, computed
 * there (operations/availability.ts). A month still running is measured up
 * to the report's now.
 */
export const availability = defineProvider({
  name: 'availability',
  ids: ['AV-5', 'RE-1', 'RE-2'],
  async collect(ctx) {
    const a = await availabilityFacts(ctx)
    const scope = ctx.tenantId === null ? { en: 'platform-wide', ja: 'プラットフォーム全体' } : { en: 'for this tenant', ja: 'このテナント' }
    const facts = {
      month: a.month,
      planned_minutes: a.planned_minutes,
      maintenance_minutes: a.maintenance_minutes,
      downtime_minutes: a.downtime_minutes,
      availability: a.availability,
      incidents: a.incidents,
      mttr_minutes: a.mttr_minutes,
      incidents_over_a_day: a.incidents_over_a_day,
    }
    return {
      'AV-5':
        a.availability === null
          ? {
              status: 'not_yet_measured',
              value: null,
              summary: { en: 'No planned service time in this month yet.', ja: '当月の計画サービス時間がまだありません' },
              evidence: facts,
              note: { en: 'Availability needs planned service time to divide by.', ja: '稼働率の算出には計画サービス時間が必要です' },
            }
          : {
              status: a.availability >= AVAILABILITY_TARGET ? 'met' : 'not_met',
              value: a.availability,
              summary: {
                en: `${percent(a.availability)} available in ${a.month} ${scope.en} (target ${percent(AVAILABILITY_TARGET)}): ${a.downtime_minutes} minutes down of ${a.planned_minutes} planned, ${a.maintenance_minutes} minutes of planned maintenance excluded.`,
                ja: `${a.month} の稼働率 ${percent(a.availability)}（${scope.ja}、目標 ${percent(AVAILABILITY_TARGET)}）: 計画サービス時間 ${a.planned_minutes}分中 停止 ${a.downtime_minutes}分（計画メンテナンス ${a.maintenance_minutes}分は除外）`,
              },
              evidence: facts,
            },
      'RE-1': {
        status: a.mttr_minutes === null || a.mttr_minutes <= MTTR_TARGET_MINUTES ? 'met' : 'not_met',
        value: a.mttr_minutes,
        summary:
          a.mttr_minutes === null
            ? { en: `No incidents in ${a.month} ${scope.en}, so nothing to repair.`, ja: `${a.month} の障害なし（${scope.ja}）` }
            : {
                en: `Mean time to repair ${a.mttr_minutes} minutes over ${plural(a.incidents, 'incident')} in ${a.month} ${scope.en} (target about ${MTTR_TARGET_MINUTES}).`,
                ja: `${a.month} の平均復旧時間 ${a.mttr_minutes}分（障害 ${a.incidents}件、${scope.ja}、目標 約${MTTR_TARGET_MINUTES}分）`,
              },
        evidence: facts,
      },
      'RE-2': {
        status: a.incidents_over_a_day === 0 ? 'met' : 'not_met',
        value: { incidents: a.incidents, incidents_over_a_day: a.incidents_over_a_day },
        summary: {
          en: `${plural(a.incidents, 'incident')} in ${a.month} ${scope.en}, ${a.incidents_over_a_day} of them lasting over a day.`,
          ja: `${a.month} の障害 ${a.incidents}件（${scope.ja}）、うち1日以上を要したもの ${a.incidents_over_a_day}件`,
        },
        evidence: facts,
      },
    }
  },
})
