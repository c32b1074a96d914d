import { ADDRESS_CEILING, PLATFORM_REQUESTS_PER_MINUTE, REQUEST_BODY_LIMIT_BYTES, SESSION_SHARE_OF_MINUTE } from '../../../schemas/limits'
import { LIMITS } from '../../abuse/limits'
import { DETECTORS } from '../../alerts/detectors'
import { webhookConfigured } from '../../alerts/webhook'
import { describeLimits } from '../../tenancy/limits'
import { monthEvents, planSpread, tenantFacts } from './facts'
import { defineProvider, plural } from './provider'

/** The audit actions that record an intrusion alert (services/alerts/security-alerts.ts). */
const ALERT_ACTIONS = {
  new_network_sign_in: 'security.new_network_sign_in',
  source_refusal_burst: 'security.source_refusal_burst',
  download_burst: 'security.download_burst',
  permission_failures: 'security.permission_failures',
  other: 'security.alert',
} as const

/** Cloudflare's DDoS protection and WAF are zone settings: the Worker can neither read nor prove them. */
const ZONE_NOTE = {
  en: 'Cloudflare\u2019s DDoS protection and WAF in front are zone settings the Worker cannot read, so they are not part of this evidence.',
  ja: '前段の Cloudflare DDoS 対策・WAF はゾーン設定のため Worker からは確認できず、本証跡には含みません',
}

/**
 * SE-28 (intrusion detection: the detectors and the alerts they raised),
 * SE-31/45/46 (DoS, DDoS, EDoS: the limits in force at each layer) and
 * SE-32 (headers, validation, anomaly alerts), from the same month's events.
 */
export const protection = defineProvider({
  name: 'protection',
  ids: ['SE-28', 'SE-31/45/46', 'SE-32'],
  async collect(ctx) {
    const events = await monthEvents(ctx)
    const refused = events.count('security.source_refused')
    const failedSignIns = events.count('auth.login', 'failure')
    const alerts = Object.fromEntries(Object.entries(ALERT_ACTIONS).map(([kind, action]) => [kind, events.count(action)]))
    const alertTotal = Object.values(alerts).reduce((a, b) => a + b, 0)
    const webhook = webhookConfigured(ctx.env)
    const tenant = ctx.tenantId === null ? null : await tenantFacts(ctx)
    const requestLimits = tenant
      ? (() => {
          const inForce = describeLimits(tenant.limits)
          return { en: `this tenant's ${inForce.requests_per_minute.limit} a minute and ${inForce.requests_per_month.limit} a month`, ja: `このテナントの毎分 ${inForce.requests_per_minute.limit}・月間 ${inForce.requests_per_month.limit}`, evidence: { tenant_limits_in_force: inForce } }
        })()
      : await planSpread(ctx).then((s) => ({
          en: `each tenant's plan or contract limits (${s.plans.map((p) => `${p.id} ${p.requestsPerMinute}/min`).join(', ')}; ${s.overrides.requestsPerMinute} of ${s.tenants} tenants by contract)`,
          ja: `テナントごとのプランまたは契約の上限（${s.plans.map((p) => `${p.id} 毎分${p.requestsPerMinute}`).join('、')}。契約による個別設定 ${s.overrides.requestsPerMinute}/${s.tenants}テナント）`,
          evidence: { plans: s.plans.map((p) => ({ plan: p.id, requests_per_minute: p.requestsPerMinute, requests_per_month: p.requestsPerMonth, storage_bytes: p.storageBytes })) },
        }))
    const layers = {
      per_address: { limit: ADDRESS_CEILING.limit, period_seconds: ADDRESS_CEILING.periodSeconds },
      per_session_share_of_tenant_minute: SESSION_SHARE_OF_MINUTE,
      platform_requests_per_minute_per_tenant: PLATFORM_REQUESTS_PER_MINUTE,
      unknown_tokens_per_network_per_hour: LIMITS.token.limit,
      request_body_limit_bytes: REQUEST_BODY_LIMIT_BYTES,
    }
    return {
      'SE-28': {
        status: 'met',
        value: { alerts_this_month: alerts, detectors: DETECTORS },
        summary: {
          en: `Brute force, lock-outs, sign-in from a new network, bursts of downloads, permission failures and source refusals raise alerts, mailed to the tenant's admins${webhook ? ' and sent to the operators\u2019 webhook' : ''}; ${plural(alertTotal, 'alert')} in ${ctx.month.month}, with ${plural(refused, 'request')} refused by source rules and ${plural(failedSignIns, 'failed sign-in')}.`,
          ja: `総当たり、ロックアウト、新しいネットワークからのサインイン、ダウンロードの集中、権限エラー、接続元ルールによる拒否の集中を検知し、テナント管理者へメール${webhook ? '、運用者の Webhook へ通知' : 'で通知'}。${ctx.month.month}: 通知 ${alertTotal}件、接続元ルールによる拒否 ${refused}件、サインイン失敗 ${failedSignIns}件`,
        },
        evidence: { alerts_this_month: alerts, detectors: DETECTORS, source_refusals_this_month: refused, failed_sign_ins_this_month: failedSignIns, operator_webhook: webhook ? 'configured' : 'not configured' },
      },
      'SE-31/45/46': {
        status: 'met',
        value: { ...layers, ...requestLimits.evidence },
        summary: {
          en: `Refused in layers before any costly work: ${ADDRESS_CEILING.limit} requests per ${ADDRESS_CEILING.periodSeconds} s from one address, ${LIMITS.token.limit} unknown session tokens an hour from one network, ${requestLimits.en}, one session at most ${SESSION_SHARE_OF_MINUTE * 100}% of its tenant's minute, request bodies up to ${REQUEST_BODY_LIMIT_BYTES / 1024 / 1024} MiB, and storage quotas per tenant.`,
          ja: `高コストな処理の前に段階的に拒否: 1アドレスあたり ${ADDRESS_CEILING.periodSeconds}秒 ${ADDRESS_CEILING.limit}リクエスト、1ネットワークあたり未知のセッショントークン 1時間 ${LIMITS.token.limit}件、${requestLimits.ja}、1セッションはテナントの毎分上限の${SESSION_SHARE_OF_MINUTE * 100}%まで、リクエスト本文は ${REQUEST_BODY_LIMIT_BYTES / 1024 / 1024} MiB まで、テナントごとの容量上限`,
        },
        evidence: { ...layers, ...requestLimits.evidence, refusal: '429 with Retry-After and RateLimit headers; 413 payload-too-large' },
        note: ZONE_NOTE,
      },
      'SE-32': {
        status: 'met',
        value: { security_headers: true, input_validation: true, anomaly_alerts_this_month: alertTotal },
        summary: {
          en: `Strict security headers on every response (HSTS, a self-only Content-Security-Policy, nosniff, no framing), strict validation of every input (unknown fields, duplicate keys and oversized bodies refused), and anomaly alerts (${plural(alertTotal, 'alert')} in ${ctx.month.month}).`,
          ja: `全レスポンスに厳格なセキュリティヘッダー（HSTS、自サイトのみの CSP、nosniff、フレーム禁止）、すべての入力の厳格な検証（未知の項目・重複キー・過大な本文を拒否）、異常検知の通知（${ctx.month.month}: ${alertTotal}件）`,
        },
        evidence: { headers: ['Strict-Transport-Security', 'Content-Security-Policy', 'X-Content-Type-Options', 'X-Frame-Options', 'Referrer-Policy'], anomaly_alerts_this_month: alerts },
        note: ZONE_NOTE,
      },
    }
  },
})
