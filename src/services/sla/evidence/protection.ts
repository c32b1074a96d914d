import { monthEvents, tenantFacts } from './facts'
import { defineProvider, plural } from './provider'

/**
 * SE-28 (intrusion detection), SE-31/45/46 (DoS, DDoS, EDoS), SE-32 (WAF,
 * monitoring): what this build records and enforces, with the alerts,
 * rate limits and quotas these rows need still to come, so each says
 * not_yet_measured with the facts it has.
 */
export const protection = defineProvider({
  name: 'protection',
  ids: ['SE-28', 'SE-31/45/46', 'SE-32'],
  async collect(ctx) {
    const events = await monthEvents(ctx)
    const refused = events.count('security.source_refused')
    const failedSignIns = events.count('auth.login', 'failure')
    const tenant = ctx.tenantId === null ? null : await tenantFacts(ctx)
    const quotas = tenant
      ? { requests_per_minute: tenant.plan.requestsPerMinute, requests_per_month: tenant.plan.requestsPerMonth }
      : null
    return {
      'SE-28': {
        status: 'not_yet_measured',
        value: { source_refusals_this_month: refused, failed_sign_ins_this_month: failedSignIns },
        summary: {
          en: `Security events recorded in ${ctx.month.month}: ${plural(refused, 'request')} refused by source rules, ${plural(failedSignIns, 'failed sign-in')}.`,
          ja: `${ctx.month.month} のセキュリティイベント: 接続元ルールによる拒否 ${refused}件、サインイン失敗 ${failedSignIns}件`,
        },
        evidence: { source_refusals_this_month: refused, failed_sign_ins_this_month: failedSignIns },
        note: {
          en: 'Raising and alerting intrusion signs (brute force, lock-outs, sign-in from a new network, mass download) is not part of this build.',
          ja: '侵入の兆候（総当たり、ロックアウト、新しいネットワークからのサインイン、大量ダウンロード）の検知・通知はこのバージョンに未搭載',
        },
      },
      'SE-31/45/46': {
        status: 'not_yet_measured',
        value: quotas,
        summary: quotas
          ? {
              en: `The plan sets ${quotas.requests_per_minute} requests per minute and ${quotas.requests_per_month} per month; usage is managed per account.`,
              ja: `プランの上限: 毎分 ${quotas.requests_per_minute} リクエスト、月間 ${quotas.requests_per_month} リクエスト。利用はアカウント単位で管理`,
            }
          : { en: 'Plans set requests per minute and per month; usage is managed per account.', ja: 'プランごとに毎分・月間のリクエスト上限を設定。利用はアカウント単位で管理' },
        evidence: { plan_request_limits: quotas, request_body_limit: 'enforced (413 payload-too-large)' },
        note: {
          en: 'Per-IP, per-tenant and per-token rate limits and the enforcement of the plan\u2019s request quotas are not part of this build; Cloudflare\u2019s DDoS protection in front is a zone setting the Worker cannot read.',
          ja: 'IP・テナント・トークン単位の流量制限とプランのリクエスト上限の適用はこのバージョンに未搭載。前段の Cloudflare DDoS 対策はゾーン設定のため Worker からは確認不可',
        },
      },
      'SE-32': {
        status: 'not_yet_measured',
        value: { security_headers: true, input_validation: true },
        summary: {
          en: 'Strict security headers on every response (HSTS, a self-only Content-Security-Policy, nosniff, no framing) and validation of every input.',
          ja: '全レスポンスに厳格なセキュリティヘッダー（HSTS、自サイトのみの CSP、nosniff、フレーム禁止）、すべての入力を検証',
        },
        evidence: { headers: ['Strict-Transport-Security', 'Content-Security-Policy', 'X-Content-Type-Options', 'X-Frame-Options', 'Referrer-Policy'] },
        note: {
          en: 'Anomaly alerts are not part of this build, and the Cloudflare WAF in front is a zone setting the Worker cannot read.',
          ja: '異常検知の通知はこのバージョンに未搭載。前段の Cloudflare WAF はゾーン設定のため Worker からは確認不可',
        },
      },
    }
  },
})
