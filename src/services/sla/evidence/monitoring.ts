import { checkReadiness } from '../../platform/health'
import { selfCheckFailures } from './facts'
import { defineProvider, plural } from './provider'

/**
 * RE-3: liveness and readiness probes, measured now (the same probes as
 * /health/ready), and the scheduled self-check's failures this month. The
 * alerting the row also asks for (mail, webhook) is not in this build.
 */
export const monitoring = defineProvider({
  name: 'monitoring',
  ids: ['RE-3'],
  async collect(ctx) {
    const [readiness, failures] = await Promise.all([checkReadiness(ctx.env), selfCheckFailures(ctx)])
    const checks = Object.entries(readiness.checks).map(([k, v]) => `${k} ${v}`).join(', ')
    return {
      'RE-3': {
        status: 'not_yet_measured',
        value: { ready_now: readiness.status === 'ok', checks: readiness.checks, self_check_failures_this_month: failures },
        summary: {
          en: `Liveness (/health/live) and readiness (/health/ready: D1, R2, Durable Objects) probes, and a self-check every 5 minutes; checked just now: ${checks}. ${plural(failures, 'failed self-check')} in ${ctx.month.month}.`,
          ja: `死活監視（/health/live）・状態監視（/health/ready: D1・R2・Durable Objects）と5分ごとの自己診断。今回の確認結果: ${checks}。${ctx.month.month} の自己診断失敗 ${failures}件`,
        },
        evidence: { readiness, self_check: '*/5 * * * *', self_check_failures_this_month: failures },
        note: {
          en: 'Alerting the first responder (mail, webhook to chat or SMS) is not part of this build; failed self-checks are logged and audited only.',
          ja: '一次担当者への発報（メール、チャット・SMS 向け Webhook）はこのバージョンに未搭載。自己診断の失敗はログと操作ログへの記録のみ',
        },
      },
    }
  },
})
