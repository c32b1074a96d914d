import { AUDIT_ACTIONS } from '../../../schemas/audit'
import { chainFacts, monthEvents } from './facts'
import { defineProvider, plural } from './provider'

/** Every action the audit table files under data extraction: a new kind of bulk output is counted without anyone listing it here. */
const EXTRACTIONS = Object.entries(AUDIT_ACTIONS).filter(([, category]) => category === 'data_extraction').map(([action]) => action)

/**
 * The audit trail as evidence: RE-8 (kept, never pruned, viewable), SE-9
 * (IDs to trace by), SE-27 (request log lines plus the trail), DM-8 (atomic
 * changes, a hash chain verified against its anchored head), GE-5 and SE-38
 * (data extractions recorded and exportable). The chain's numbers come from
 * its sequencer's own storage, which D1 cannot rewrite.
 */
export const auditTrail = defineProvider({
  name: 'audit-trail',
  ids: ['RE-8', 'SE-9', 'SE-27', 'DM-8', 'GE-5', 'SE-38'],
  async collect(ctx) {
    const [chain, events] = await Promise.all([chainFacts(ctx), monthEvents(ctx)])
    const platform = ctx.tenantId === null
    const view = platform ? 'GET /ops/v1/audit' : 'GET /api/v1/audit'
    const month = ctx.month.month
    const extractions = Object.fromEntries(EXTRACTIONS.map((a) => [a, events.count(a)]))
    const extracted = Object.values(extractions).reduce((s, n) => s + n, 0)
    const unverified = chain.events - (chain.verifiedThroughSeq ?? 0)
    const chainLine = {
      en: `the ${chain.chain} chain holds ${plural(chain.events, 'event')}${chain.firstEventAt ? ` since ${chain.firstEventAt}` : ''}, verified through event ${chain.verifiedThroughSeq ?? 0} (${unverified} newer events not yet verified; GET ${platform ? '/ops' : '/api'}/v1/audit/verify checks them)`,
      ja: `${chain.chain} チェーンに ${chain.events}件${chain.firstEventAt ? `（${chain.firstEventAt} 以降）` : ''}、${chain.verifiedThroughSeq ?? 0}件目まで検証済み（未検証 ${unverified}件）`,
    }
    const requestLog = ctx.env.REQUEST_LOG !== 'off'
    return {
      'RE-8': {
        status: chain.firstEventKept ? 'met' : 'not_met',
        value: { events: chain.events, first_event_at: chain.firstEventAt, retention: 'unlimited' },
        summary: {
          en: `Every state change and sign-in is in the audit log, viewable and searchable (${view}) and never pruned: ${chainLine.en}. ${plural(events.total, 'event')} in ${month}.`,
          ja: `すべての変更とサインインを操作ログに記録し、管理画面（${view}）で閲覧・検索可能、保存期間の制限なし（削除なし）: ${chainLine.ja}。${month} の記録 ${events.total}件`,
        },
        evidence: { chain: chain.chain, events: chain.events, first_event_at: chain.firstEventAt, first_event_kept: chain.firstEventKept, head_seq: chain.headSeq, verified_through_seq: chain.verifiedThroughSeq, events_this_month: events.total, updates: 'refused by a trigger (audit_events_no_update)' },
        ...(chain.firstEventKept
          ? {}
          : { note: { en: 'The chain\u2019s first event is missing: events were removed from the start of the trail.', ja: 'チェーンの最初の記録が見つかりません（先頭の記録が削除されています）' } }),
      },
      'SE-9': {
        status: 'met',
        value: { events_this_month: events.total },
        summary: {
          en: `Every person, request and object has its own ID, recorded with each event (actor, request ID, target) and searchable by any of them; ${plural(events.total, 'event')} in ${month}.`,
          ja: `利用者・リクエスト・対象ごとに ID を付与し、各記録に保存（実行者・リクエスト ID・対象）。いずれの ID でもログ検索可能。${month} の記録 ${events.total}件`,
        },
        evidence: { search_filters: ['actor', 'action', 'target', 'request_id', 'category', 'since', 'until'], events_this_month: events.total },
      },
      'SE-27': {
        status: requestLog ? 'met' : 'not_met',
        value: { request_log: requestLog, audit_events_this_month: events.total },
        summary: requestLog
          ? {
              en: `One structured log line per request (request ID, tenant, actor, IP, status, latency) plus the audit log (${plural(events.total, 'event')} in ${month}).`,
              ja: `リクエストごとに構造化ログ1行（リクエスト ID・テナント・実行者・IP・ステータス・処理時間）と操作ログ（${month} ${events.total}件）を記録`,
            }
          : {
              en: `The per-request log lines are switched off here (REQUEST_LOG=off); the audit log still records every change (${plural(events.total, 'event')} in ${month}).`,
              ja: `この環境ではリクエストログが無効（REQUEST_LOG=off）。操作ログは記録中（${month} ${events.total}件）`,
            },
        evidence: { request_log: requestLog ? 'on' : 'off', request_log_fields: ['request_id', 'service_request_id', 'tenant_id', 'actor_id', 'method', 'path', 'status', 'duration_ms', 'ip'], audit_events_this_month: events.total },
      },
      'DM-8': {
        status: chain.firstEventKept ? 'met' : 'not_met',
        value: { chain_events: chain.events, verified_through_seq: chain.verifiedThroughSeq },
        summary: {
          en: `Each change and its audit event commit in one transaction or not at all (a failed condition rolls the whole batch back); files carry a SHA-256; ${chainLine.en}.`,
          ja: `変更とその操作ログは1つのトランザクションで確定し、条件を満たさなければ全体をロールバック。ファイルは SHA-256 を保持。${chainLine.ja}`,
        },
        evidence: { transactions: 'D1 batch per change with its audit event; write guards roll back failed conditions', chain: chain.chain, head_seq: chain.headSeq, verified_through_seq: chain.verifiedThroughSeq },
      },
      'GE-5': {
        status: 'met',
        value: { data_extractions_this_month: extracted },
        summary: {
          en: `Admins export their audit log (GET /api/v1/audit/export, NDJSON or CSV), filtered to data extractions with category=data_extraction: ${extracted} in ${month}.`,
          ja: `管理者は操作ログをエクスポート可能（GET /api/v1/audit/export、NDJSON/CSV）。category=data_extraction でデータ抽出の記録に絞り込み可能（${month} ${extracted}件）`,
        },
        evidence: { export: 'GET /api/v1/audit/export?category=data_extraction', data_extractions_this_month: extractions },
      },
      'SE-38': {
        status: 'met',
        value: { data_extractions_this_month: extracted },
        summary: {
          en: `Every bulk output needs a permission and is audited as a data extraction: the whole-data export (export, 10 an hour), file downloads (download), the ledger CSV (admins), audit exports (audit:read); ${plural(extracted, 'extraction')} in ${month}.`,
          ja: `一括出力はすべて権限が必要で、データ抽出として記録: データ一括エクスポート（export 権限、1時間10回まで）、ファイルのダウンロード（download 権限）、アカウント台帳 CSV（管理者）、操作ログのエクスポート（audit:read）。${month} のデータ抽出 ${extracted}件`,
        },
        evidence: { data_extractions_this_month: extractions },
      },
    }
  },
})
