import { ADDRESS_CEILING, PLATFORM_REQUESTS_PER_MINUTE, REQUEST_WINDOW_SECONDS, SESSION_SHARE_OF_MINUTE } from '../../../schemas/limits'
import { LIMITS } from '../../abuse/limits'
import { describeLimits } from '../../tenancy/limits'
import { planSpread, tenantFacts } from './facts'
import { defineProvider, type Bilingual } from './provider'

/** The sign-in throttles' thresholds in force (services/abuse/limits.ts). */
const SIGN_IN_THROTTLES = {
  account_from_network: {
    failures_in_a_row: LIMITS.pair.limit,
    first_wait_seconds: LIMITS.pair.block.firstMs / 1000,
    longest_wait_seconds: LIMITS.pair.block.maxMs / 1000,
  },
  network: { failures: LIMITS.ip.limit, window_hours: LIMITS.ip.windowMs / 3_600_000 },
  account_lock_after_failures_in_a_row: LIMITS.account.limit,
}

const PER_ADDRESS = { limit: ADDRESS_CEILING.limit, period_seconds: ADDRESS_CEILING.periodSeconds }

const SOURCE_JA = { plan: 'プラン', contract: '契約' } as const

/**
 * AV-11 (one tenant's load cannot starve another: each tenant's requests
 * are counted and limited in its own session store, with its limits in
 * force) and PF-2 (slow-response episodes end within a minute: every
 * load-shedding limit counts in windows of at most a minute, and refused
 * requests are not counted, so a flood's refusals end with its window).
 */
export const quotas = defineProvider({
  name: 'quotas',
  ids: ['AV-11', 'PF-2'],
  async collect(ctx) {
    const recovers = ADDRESS_CEILING.periodSeconds <= 60 && REQUEST_WINDOW_SECONDS <= 60
    const pf2Note: Bilingual = {
      en: `The sign-in throttles (${LIMITS.pair.limit} failures in a row for an account from one network, ${LIMITS.ip.limit} failed sign-ins a day from one network) refuse only that account or network after failed sign-ins, for longer than a minute by design; they slow no one else.`,
      ja: `サインインの試行制限（同一ネットワークからの同一アカウントへの連続失敗 ${LIMITS.pair.limit}回、同一ネットワークからの失敗 1日 ${LIMITS.ip.limit}回）は失敗を重ねたアカウントやネットワークのみを意図的に1分以上拒否するもので、他の利用者を遅くしません`,
    }
    if (ctx.tenantId === null) {
      const spread = await planSpread(ctx)
      const plans = spread.plans.map((p) => ({ plan: p.id, requests_per_minute: p.requestsPerMinute, requests_per_month: p.requestsPerMonth }))
      const list = plans.map((p) => `${p.plan} ${p.requests_per_minute}/min, ${p.requests_per_month}/month`).join('; ')
      const own = spread.overrides.requestsPerMinute
      const ownMonth = spread.overrides.requestsPerMonth
      return {
        'AV-11': {
          status: 'met',
          value: { plans, tenants_with_contract_per_minute: own, tenants_with_contract_per_month: ownMonth, platform_requests_per_minute: PLATFORM_REQUESTS_PER_MINUTE },
          summary: {
            en: `Every tenant's requests are counted and limited in its own session store, apart from every other tenant's, by its plan (${list}) or its contract (${own} of ${spread.tenants} tenants have their own per-minute limit, ${ownMonth} their own monthly quota); one session uses at most ${SESSION_SHARE_OF_MINUTE * 100}% of its tenant's minute, and no tenant more than ${PLATFORM_REQUESTS_PER_MINUTE} a minute.`,
            ja: `テナントごとのリクエストは各テナント専用のセッションストアで計数・制限（他テナントと共有しない）。上限はプラン（${list}）または契約（${spread.tenants}テナント中 毎分の上限 ${own}、月間の上限 ${ownMonth}テナントが個別設定）。1セッションはテナントの毎分上限の${SESSION_SHARE_OF_MINUTE * 100}%まで、全テナント共通の上限は毎分 ${PLATFORM_REQUESTS_PER_MINUTE}`,
          },
          evidence: { plans, tenants: spread.tenants, tenants_with_any_contract_limit: spread.overrides.any, session_share_of_minute: SESSION_SHARE_OF_MINUTE },
        },
        'PF-2': {
          status: recovers ? 'met' : 'not_met',
          value: { per_address: PER_ADDRESS, tenant_window_seconds: REQUEST_WINDOW_SECONDS, plans, sign_in: SIGN_IN_THROTTLES },
          summary: {
            en: `Load is shed by limits that count per minute: ${ADDRESS_CEILING.limit} requests per ${ADDRESS_CEILING.periodSeconds} seconds from one address, and each tenant's per-minute limit (${list}) in ${REQUEST_WINDOW_SECONDS}-second windows; refused requests are not counted, so service recovers within a minute of a flood ending.`,
            ja: `負荷は毎分単位の制限で遮断: 1アドレスあたり ${ADDRESS_CEILING.periodSeconds}秒 ${ADDRESS_CEILING.limit}リクエスト、テナントごとの毎分上限（${list}）を${REQUEST_WINDOW_SECONDS}秒単位で計数。拒否したリクエストは計数しないため、集中アクセスの終了後1分以内に回復`,
          },
          evidence: { per_address: PER_ADDRESS, tenant_window_seconds: REQUEST_WINDOW_SECONDS, plans, tenants_with_contract_per_minute: own, sign_in: SIGN_IN_THROTTLES },
          note: pf2Note,
        },
      }
    }
    const tenant = (await tenantFacts(ctx))!
    const inForce = describeLimits(tenant.limits)
    const minute = inForce.requests_per_minute
    const month = inForce.requests_per_month
    const quota = { requests_per_minute: minute, requests_per_month: month }
    return {
      'AV-11': {
        status: 'met',
        value: { ...quota, session_share_of_minute: SESSION_SHARE_OF_MINUTE, platform_requests_per_minute: PLATFORM_REQUESTS_PER_MINUTE },
        summary: {
          en: `This tenant's requests are counted and limited in its own session store, apart from every other tenant's: ${minute.limit} a minute and ${month.limit} a month (by its ${minute.source === 'contract' || month.source === 'contract' ? 'contract' : 'plan'}), one session at most ${SESSION_SHARE_OF_MINUTE * 100}% of the minute; another tenant's flood is refused in that tenant's own store.`,
          ja: `このテナントのリクエストは専用のセッションストアで計数・制限（他テナントと共有しない）: 毎分 ${minute.limit}（${SOURCE_JA[minute.source]}）、月間 ${month.limit}（${SOURCE_JA[month.source]}）、1セッションは毎分上限の${SESSION_SHARE_OF_MINUTE * 100}%まで。他テナントの集中アクセスはそのテナントのストアで拒否`,
        },
        evidence: { plan: tenant.plan.id, limits_in_force: inForce, plan_limits: { requests_per_minute: tenant.plan.requestsPerMinute, requests_per_month: tenant.plan.requestsPerMonth } },
      },
      'PF-2': {
        status: recovers ? 'met' : 'not_met',
        value: { per_address: PER_ADDRESS, tenant_window_seconds: REQUEST_WINDOW_SECONDS, requests_per_minute: minute, sign_in: SIGN_IN_THROTTLES },
        summary: {
          en: `Load is shed by limits that count per minute: ${ADDRESS_CEILING.limit} requests per ${ADDRESS_CEILING.periodSeconds} seconds from one address, and this tenant's ${minute.limit} a minute in ${REQUEST_WINDOW_SECONDS}-second windows; refused requests are not counted, so service recovers within a minute of a flood ending.`,
          ja: `負荷は毎分単位の制限で遮断: 1アドレスあたり ${ADDRESS_CEILING.periodSeconds}秒 ${ADDRESS_CEILING.limit}リクエスト、このテナントの毎分 ${minute.limit}リクエストを${REQUEST_WINDOW_SECONDS}秒単位で計数。拒否したリクエストは計数しないため、集中アクセスの終了後1分以内に回復`,
        },
        evidence: { per_address: PER_ADDRESS, tenant_window_seconds: REQUEST_WINDOW_SECONDS, requests_per_minute: minute, sign_in: SIGN_IN_THROTTLES },
        note: pf2Note,
      },
    }
  },
})
