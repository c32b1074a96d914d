import { DEFAULT_STANDING_RULE, LEAD_TIME_MS, MAX_WINDOW_MINUTES, formatJst, upcomingStandingWindows, type StandingRule, type WindowKind } from '../../operations/calendar'
import { standingRuleFacts, windowFacts, type WindowFact, type WindowFacts } from './operations-facts'
import { defineProvider, plural, type Bilingual, type EvidenceContext, type RowEvidence } from './provider'

const ORDINAL_EN = ['1st', '2nd', '3rd', '4th'] as const
const WEEKDAY_EN = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const
const WEEKDAY_JA = ['日', '月', '火', '水', '木', '金', '土'] as const

function describeRule(rule: StandingRule): Bilingual {
  return {
    en: `the ${ORDINAL_EN[rule.week_of_month - 1]} ${WEEKDAY_EN[rule.weekday]} of every month from ${rule.start_time_jst} JST for up to ${rule.duration_minutes} minutes`,
    ja: `毎月第${rule.week_of_month}${WEEKDAY_JA[rule.weekday]}曜日 ${rule.start_time_jst} JST から最大${rule.duration_minutes}分`,
  }
}

const sameRule = (a: StandingRule, b: StandingRule) =>
  a.week_of_month === b.week_of_month && a.weekday === b.weekday && a.start_time_jst === b.start_time_jst && a.duration_minutes === b.duration_minutes

/** What a window shows as evidence: its times and notice, never which tenants it covers. */
const brief = (w: WindowFact) => ({ id: w.id, kind: w.kind, starts_at: w.starts_at, ends_at: w.ends_at, emergency: w.emergency, notice_days: w.notice_days })

function mailWords(ctx: EvidenceContext, mails: number): Bilingual {
  return ctx.tenantId === null
    ? { en: plural(mails, 'notice mail'), ja: `通知メール ${mails}通` }
    : { en: `${plural(mails, 'notice mail')} to this tenant's contact and admins`, ja: `このテナントの窓口・管理者への通知メール ${mails}通` }
}

/** AV-1: the standing window's rule in force, the next standing and scheduled windows, and that none runs over five hours. */
function standingWindowRow(ctx: EvidenceContext, rule: StandingRule, ruleSavedAt: string | null, windows: WindowFacts): RowEvidence {
  const next = upcomingStandingWindows(rule, ctx.now)
  const seen = [...windows.month, ...windows.upcoming]
  const longest = seen.reduce((max, w) => Math.max(max, w.duration_minutes), 0)
  const stated = sameRule(rule, DEFAULT_STANDING_RULE)
  const withinLimit = rule.duration_minutes <= MAX_WINDOW_MINUTES && longest <= MAX_WINDOW_MINUTES
  const words = describeRule(rule)
  const nextList = next.map((w) => formatJst(w.starts_at)).join(', ')
  const ahead = windows.upcoming.length
  const inMonth = windows.month.length
  return {
    status: stated && withinLimit ? 'met' : 'not_met',
    value: {
      rule,
      next_standing_windows: next,
      next_scheduled_windows: windows.upcoming.map((w) => ({ id: w.id, kind: w.kind, starts_at: w.starts_at, ends_at: w.ends_at })),
    },
    summary: {
      en: `The standing maintenance window is ${words.en} (next: ${nextList}); ${plural(inMonth, 'window')} in ${ctx.month.month} and ${ahead} scheduled ahead, the longest ${longest} minutes (at most ${MAX_WINDOW_MINUTES}).`,
      ja: `定期メンテナンスは${words.ja}（次回: ${nextList}）。${ctx.month.month} の実施 ${inMonth}件、予定 ${ahead}件、最長 ${longest}分（上限 ${MAX_WINDOW_MINUTES}分）`,
    },
    evidence: {
      rule,
      rule_saved_at: ruleSavedAt,
      rule_is_stated_rule: stated,
      max_window_minutes: MAX_WINDOW_MINUTES,
      longest_window_minutes: longest,
      windows_this_month: windows.month.map(brief),
      truncated: windows.truncated,
    },
    ...(stated
      ? {}
      : {
          note: {
            en: `The rule in force differs from the stated answer (${describeRule(DEFAULT_STANDING_RULE).en}); set it back with PUT /ops/v1/maintenance-windows/standing-rule or change the answer.`,
            ja: `現在の規則は記載の回答（${describeRule(DEFAULT_STANDING_RULE).ja}）と異なります。PUT /ops/v1/maintenance-windows/standing-rule で戻すか、回答を改めてください`,
          },
        }),
  }
}

const KIND_WORDS: Record<WindowKind, { en: string; plural: string; ja: string }> = {
  maintenance: { en: 'maintenance window', plural: 'maintenance windows', ja: 'メンテナンス' },
  outage: { en: 'planned outage', plural: 'planned outages', ja: '計画停止' },
}

/**
 * AV-10 (maintenance) and AV-2 (outages): the lead time the service demands
 * before it accepts a window of `kind`, and what the month's and the coming
 * windows actually got: notice in days from when they were scheduled, the
 * emergencies (each with its reason), the notice mails.
 */
function leadTimeRow(ctx: EvidenceContext, kind: WindowKind, windows: WindowFacts): RowEvidence {
  const required = LEAD_TIME_MS[kind] / 86_400_000
  const month = windows.month.filter((w) => w.kind === kind)
  const upcoming = windows.upcoming.filter((w) => w.kind === kind)
  const all = [...new Map([...month, ...upcoming].map((w) => [w.id, w])).values()]
  const planned = all.filter((w) => !w.emergency)
  const shortNotice = planned.filter((w) => w.notice_days < required)
  const emergencies = month.filter((w) => w.emergency)
  const withReason = emergencies.filter((w) => w.reason !== null && w.reason !== '')
  const unnoticed = all.filter((w) => w.notice.status === null)
  const shortest = planned.length ? Math.min(...planned.map((w) => w.notice_days)) : null
  const mails = all.reduce((sum, w) => sum + w.notice.mails, 0)
  const words = KIND_WORDS[kind]
  const mailed = mailWords(ctx, mails)
  const ok = shortNotice.length === 0 && withReason.length === emergencies.length && unnoticed.length === 0
  return {
    status: ok ? 'met' : 'not_met',
    value: {
      lead_days_required: required,
      this_month: month.length,
      emergencies_this_month: emergencies.length,
      emergencies_with_reason: withReason.length,
      scheduled_ahead: upcoming.length,
      shortest_planned_notice_days: shortest,
    },
    summary: {
      en: `A ${words.en} needs ${required} days' notice unless it is an emergency with a reason (shorter notice is refused): ${plural(month.length, words.en, words.plural)} in ${ctx.month.month} (${plural(emergencies.length, 'emergency', 'emergencies')}, ${withReason.length} with a reason) and ${upcoming.length} scheduled ahead; ${shortest === null ? 'no planned one to measure' : `the shortest notice of a planned one was ${shortest} days`}; ${mailed.en} when they were scheduled.`,
      ja: `${words.ja}は${required}日前までの登録が必要（緊急時は理由必須、それ以外は拒否）。${ctx.month.month} の${words.ja} ${month.length}件（緊急 ${emergencies.length}件、うち理由あり ${withReason.length}件）、予定 ${upcoming.length}件。${shortest === null ? '計画分の事前通知なし' : `計画分の最短事前通知 ${shortest}日`}。登録時の${mailed.ja}`,
    },
    evidence: {
      lead_days_required: required,
      windows_this_month: month.map((w) => ({ ...brief(w), reason: w.reason, notice: w.notice })),
      scheduled_ahead: upcoming.map((w) => ({ ...brief(w), reason: w.reason, notice: w.notice })),
      planned_with_short_notice: shortNotice.map((w) => w.id),
      without_notice: unnoticed.map((w) => w.id),
      notice_mails: mails,
      truncated: windows.truncated,
    },
    ...(ok
      ? {}
      : {
          note: {
            en: `${plural(shortNotice.length, 'planned window')} had less notice than ${required} days, ${emergencies.length - withReason.length} emergencies have no reason and ${unnoticed.length} have no notice on record.`,
            ja: `事前通知が${required}日未満の計画分 ${shortNotice.length}件、理由のない緊急分 ${emergencies.length - withReason.length}件、通知記録のないもの ${unnoticed.length}件`,
          },
        }),
  }
}

/**
 * AV-1 (the standing monthly window), AV-2 (planned outages: 30 days'
 * notice) and AV-10 (maintenance: 7 days' notice), from the maintenance
 * calendar and the scheduled windows that concern the report's tenant (its
 * own and the platform-wide ones) or, platform-wide, every window.
 */
export const maintenance = defineProvider({
  name: 'maintenance',
  ids: ['AV-1', 'AV-2', 'AV-10'],
  async collect(ctx) {
    const [{ rule, updated_at }, windows] = await Promise.all([standingRuleFacts(ctx), windowFacts(ctx)])
    return {
      'AV-1': standingWindowRow(ctx, rule, updated_at, windows),
      'AV-2': leadTimeRow(ctx, 'outage', windows),
      'AV-10': leadTimeRow(ctx, 'maintenance', windows),
    }
  },
})
