import { webhookConfigured } from '../../alerts/webhook'
import { FAILURES_TO_OPEN } from '../../operations/monitor'
import { checkReadiness } from '../../platform/health'
import { selfCheckFailures } from './facts'
import { defineProvider, plural } from './provider'

/**
 * RE-3: liveness and readiness probes, measured now (the same probes as
 * /health/ready), the scheduled self-check's failures this month, and the
 * channel that alerts the first responder: the operators' signed webhook
 * (services/operations/operator-alerts.ts), which is only evidence when it
 * is configured.
 */
export const monitoring = defineProvider({
  name: 'monitoring',
  ids: ['RE-3'],
  async collect(ctx) {
    const [readiness, failures] = await Promise.all([checkReadiness(ctx.env), selfCheckFailures(ctx)])
    const webhook = webhookConfigured(ctx.env)
    const checks = Object.entries(readiness.checks).map(([k, v]) => `${k} ${v}`).join(', ')
    return {
      'RE-3': {
        status: webhook ? 'met' : 'not_met',
        value: { ready_now: readiness.status === 'ok', checks: readiness.checks, self_check_failures_this_month: failures, alert_webhook_configured: webhook },
        summary: {
          en: `Liveness (/health/live) and readiness (/health/ready: D1, R2, Durable Objects) probes, and a self-check every 5 minutes that opens an incident and alerts the operators after ${FAILURES_TO_OPEN} failures in a row; checked just now: ${checks}. ${plural(failures, 'failed self-check')} in ${ctx.month.month}.`,
          ja: `死活監視（/health/live）・状態監視（/health/ready: D1・R2・Durable Objects）と5分ごとの自己診断（${FAILURES_TO_OPEN}回連続で失敗すると障害を起票し運用者へ発報）。今回の確認結果: ${checks}。${ctx.month.month} の自己診断失敗 ${failures}件`,
        },
        evidence: { readiness, self_check: '*/5 * * * *', self_check_failures_this_month: failures, alert_channel: { webhook: webhook ? 'configured' : 'not configured', signature: 'HMAC-SHA-256 (Mamori-Signature)' } },
        note: webhook
          ? {
              en: 'The first responder is alerted through the signed webhook (to chat or an SMS gateway); operators are not mailed separately.',
              ja: '一次担当者への発報は署名付き Webhook（チャット・SMS ゲートウェイ向け）で行い、運用者へのメールは送信しません',
            }
          : {
              en: 'No alert webhook is configured (ALERT_WEBHOOK_URL), so failures are logged and audited but reach no one.',
              ja: '発報用 Webhook（ALERT_WEBHOOK_URL）が未設定のため、失敗はログと操作ログに記録されるのみで誰にも届きません',
            },
      },
    }
  },
})
