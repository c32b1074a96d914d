import { sql } from 'drizzle-orm'
import { DEFAULT_SEGMENT_BYTES as SEGMENT_BYTES } from '../../../lib/segmented-aead'
import { KEEP_GENERATIONS } from '../../backup/retention'
import { monthEvents, planSpread } from './facts'
import { defineProvider, plural, type RowEvidence } from './provider'

type Row = Record<string, unknown>
const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v))

/** A nightly run is late once the newest complete generation is older than a day and a run's slack. */
const NIGHTLY_SLACK_MS = 26 * 3_600_000
/** PF-3: a typical tenant's nightly snapshot within 5 s. */
const BATCH_GOAL_SECONDS = 5

/**
 * The backup rows (DM-1, DM-3, DM-10, SE-11, PF-3, AV-6) from the catalogue
 * of snapshots (`backups`), in one aggregate query scoped like the report:
 * the newest generation, the generations kept and verified, this month's
 * failures and snapshot times. Restores come from the month's shared events.
 */
export const backupEvidence = defineProvider({
  name: 'backups',
  ids: ['DM-1', 'DM-3', 'DM-10', 'SE-11', 'PF-3', 'AV-6'],
  async collect(ctx) {
    const scope = ctx.tenantId === null ? sql`1 = 1` : sql`tenant_id = ${ctx.tenantId}`
    const inMonth = sql`created_at >= ${ctx.month.from} AND created_at < ${ctx.month.until}`
    const seconds = sql`(julianday(completed_at) - julianday(created_at)) * 86400`
    const [facts, events, spread] = await Promise.all([
      ctx.db.get<Row>(sql`
        SELECT
          sum(status = 'complete' AND kind = 'daily') AS generations,
          sum(status = 'complete' AND kind = 'daily' AND verify_result = 'ok') AS verified,
          max(CASE WHEN status = 'complete' THEN completed_at END) AS last_complete,
          (SELECT key_id FROM backups WHERE ${scope} AND status = 'complete' ORDER BY completed_at DESC LIMIT 1) AS last_key_id,
          (SELECT verify_result FROM backups WHERE ${scope} AND verified_at IS NOT NULL ORDER BY verified_at DESC LIMIT 1) AS last_verify_result,
          max(verified_at) AS last_verified_at,
          count(DISTINCT CASE WHEN status = 'complete' AND kind = 'daily' THEN tenant_id END) AS tenants_backed_up,
          (SELECT max(n) FROM (SELECT count(*) AS n FROM backups WHERE ${scope} AND status = 'complete' AND kind = 'daily' GROUP BY tenant_id)) AS most_generations,
          sum(status = 'failed' AND ${inMonth}) AS failed_this_month,
          sum(status = 'complete' AND kind = 'daily' AND ${inMonth}) AS snapshots_this_month,
          avg(CASE WHEN status = 'complete' AND kind = 'daily' AND ${inMonth} THEN ${seconds} END) AS average_seconds,
          max(CASE WHEN status = 'complete' AND kind = 'daily' AND ${inMonth} THEN ${seconds} END) AS longest_seconds
        FROM backups WHERE ${scope}`),
      monthEvents(ctx),
      ctx.tenantId === null ? planSpread(ctx) : Promise.resolve(null),
    ])
    const f = facts ?? {}
    const generations = num(f.generations)
    const verified = num(f.verified)
    const lastComplete = (f.last_complete as string | null) ?? null
    const lastVerify = (f.last_verify_result as string | null) ?? null
    const mostGenerations = num(f.most_generations)
    const failed = num(f.failed_this_month)
    const month = ctx.month.month
    const fresh = lastComplete !== null && ctx.now - Date.parse(lastComplete) <= NIGHTLY_SLACK_MS
    const round = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 100) / 100)
    const average = round(f.average_seconds)
    const longest = round(f.longest_seconds)
    const restores = events.count('backup.restored')
    const who = spread
      ? { en: `${num(f.tenants_backed_up)} of ${spread.activeTenants} active tenants have a generation`, ja: `有効なテナント ${spread.activeTenants}件中 ${num(f.tenants_backed_up)}件に世代あり` }
      : { en: 'this tenant', ja: 'このテナント' }
    const last = lastComplete ? { en: `the newest generation completed at ${lastComplete}`, ja: `最新の世代の完了 ${lastComplete}` } : { en: 'no generation has completed yet', ja: '完了した世代はまだありません' }
    const evidence = { generations, verified_generations: verified, last_complete_at: lastComplete, last_verify_result: lastVerify, last_verified_at: f.last_verified_at ?? null, most_generations_per_tenant: mostGenerations, failed_this_month: failed }
    const dm1: RowEvidence = {
      status: fresh ? 'met' : 'not_met',
      value: { schedule: '0 19 * * * (04:00 JST)', keep: KEEP_GENERATIONS, last_complete_at: lastComplete, generations },
      summary: {
        en: `Every active tenant is snapshotted at 04:00 JST (cron 0 19 * * *, one Workflow instance per tenant) and the newest ${KEEP_GENERATIONS} verified generations are kept; ${last.en} (${who.en}); ${plural(failed, 'failed run')} in ${month}.`,
        ja: `毎日 04:00（日本時間、cron 0 19 * * *、テナントごとに Workflow を1件）に有効な全テナントのスナップショットを取得し、検証済みの最新${KEEP_GENERATIONS}世代を保持。${last.ja}（${who.ja}）。${month} の失敗 ${failed}件`,
      },
      evidence,
      ...(fresh ? {} : { note: { en: 'No generation has completed within the last 26 hours.', ja: '直近26時間に完了した世代がありません' } }),
    }
    const within = mostGenerations <= KEEP_GENERATIONS
    return {
      'DM-1': dm1,
      'DM-3': {
        status: generations > 0 && within && lastVerify === 'ok' ? 'met' : 'not_met',
        value: { generations, verified_generations: verified, most_generations_per_tenant: mostGenerations, last_verify_result: lastVerify },
        summary: {
          en: `${plural(generations, 'generation')} kept (${verified} verified by decrypting every segment and checking every hash; at most ${mostGenerations} for one tenant, limit ${KEEP_GENERATIONS}); the last verification answered ${lastVerify ?? 'nothing yet'}. An older good generation is never removed because newer runs failed.`,
          ja: `保持世代 ${generations}件（全セグメントの復号と全ハッシュの照合で検証済み ${verified}件。1テナントあたり最大 ${mostGenerations}件、上限 ${KEEP_GENERATIONS}）。直近の検証結果: ${lastVerify ?? 'まだありません'}。新しい実行が失敗しても古い正常な世代は削除しません`,
        },
        evidence,
      },
      'DM-10': {
        status: 'met',
        value: { bucket: 'BACKUPS', separate_from: 'FILES' },
        summary: {
          en: 'Snapshots and file copies go to their own R2 bucket (BACKUPS), apart from the files bucket (FILES) and from D1.',
          ja: 'スナップショットとファイルの複製は専用の R2 バケット（BACKUPS）に保存し、ファイル用バケット（FILES）や D1 とは分離',
        },
        evidence: { backup_bucket: 'BACKUPS', files_bucket: 'FILES' },
        note: { en: 'The bucket\u2019s location (jurisdiction or location hint, e.g. APAC) is set when the bucket is created and cannot be read by the Worker.', ja: 'バケットの所在地（ジュリスディクションやロケーションヒント、例: APAC）は作成時の設定で、Worker からは確認できません' },
      },
      'SE-11': {
        status: 'met',
        value: { format: 'MSA1', algorithm: 'AES-256-GCM', segment_bytes: SEGMENT_BYTES, last_key_id: f.last_key_id ?? null },
        summary: {
          en: `Every snapshot and file copy is encrypted: AES-256-GCM in ${SEGMENT_BYTES / 1024} KiB segments under a content key sealed with the tenant's own data key (truncation, reordering and splicing are detected); disposal deletes the objects and, at termination, destroys the tenant key.`,
          ja: `スナップショットとファイルの複製はすべて暗号化: テナント固有のデータ鍵で封緘したコンテンツ鍵による AES-256-GCM（${SEGMENT_BYTES / 1024} KiB 単位、切り詰め・並べ替え・差し替えを検出）。廃棄はオブジェクトの削除と、解約時のテナント鍵の破棄`,
        },
        evidence: { format: 'MSA1', algorithm: 'AES-256-GCM', last_key_id: f.last_key_id ?? null },
      },
      'PF-3': average === null
        ? {
            status: 'not_yet_measured',
            value: null,
            summary: { en: `No nightly snapshot completed in ${month} yet.`, ja: `${month} に完了した夜間スナップショットはまだありません` },
            evidence: {},
            note: { en: 'Measured from the snapshots of the month once the first one has run.', ja: '当月の最初のスナップショットの完了後に計測' },
          }
        : {
            status: average <= BATCH_GOAL_SECONDS ? 'met' : 'not_met',
            value: { average_seconds: average, longest_seconds: longest, snapshots: num(f.snapshots_this_month) },
            summary: {
              en: `Nightly snapshots in ${month} took ${average} s on average (longest ${longest} s) over ${plural(num(f.snapshots_this_month), 'snapshot')}; goal ${BATCH_GOAL_SECONDS} s.`,
              ja: `${month} の夜間スナップショットの平均 ${average}秒（最長 ${longest}秒、${num(f.snapshots_this_month)}件）。目標 ${BATCH_GOAL_SECONDS}秒`,
            },
            evidence: { average_seconds: average, longest_seconds: longest, snapshots_this_month: num(f.snapshots_this_month) },
          },
      'AV-6': {
        status: generations > 0 ? 'met' : 'not_met',
        value: { restores_this_month: restores, generations },
        summary: {
          en: `A generation restores in place (after a safety snapshot) or into a new tenant, the disaster-recovery drill (POST /ops/v1/backups/{id}/restore with target_slug); ${plural(restores, 'restore')} in ${month}.`,
          ja: `世代は安全のためのスナップショット取得後にその場で、または新しいテナントへ復元可能（災害復旧訓練: POST /ops/v1/backups/{id}/restore に target_slug）。${month} の復元 ${restores}件`,
        },
        evidence: { restore: 'POST /ops/v1/backups/{id}/restore', drill: '{ "target_slug": "…" }', restores_this_month: restores, generations },
      },
    }
  },
})
