import { sql } from 'drizzle-orm'
import { SUPPORT_MAX_HOURS, supportAccess } from '../../tenancy/support'
import { monthEvents } from './facts'
import { defineProvider, plural } from './provider'

/** SE-26: operators read a tenant's data only under its admin's time-limited grant, each read audited in its trail. */
export const supportAccessEvidence = defineProvider({
  name: 'support-access',
  ids: ['SE-26'],
  async collect(ctx) {
    const events = await monthEvents(ctx)
    const reads = events.count('support.read')
    const grants = events.count('support.grant')
    const at = new Date(ctx.now).toISOString()
    if (ctx.tenantId === null) {
      const row = await ctx.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM support_grants WHERE expires_at > ${at}`)
      const open = Number(row?.n ?? 0)
      return {
        'SE-26': {
          status: 'met',
          value: { grants_in_force: open, support_reads_this_month: reads },
          summary: {
            en: `Operators read tenant data only while a tenant admin grants support access (at most ${SUPPORT_MAX_HOURS} hours): ${plural(open, 'grant')} in force now; ${plural(grants, 'grant')} and ${plural(reads, 'operator read')}, each audited in the tenant's trail, in ${ctx.month.month}.`,
            ja: `運用者がテナントのデータを読めるのはテナント管理者の許可（最長${SUPPORT_MAX_HOURS}時間）がある間のみ。現在有効な許可 ${open}件。${ctx.month.month} の許可 ${grants}件、運用者の閲覧 ${reads}件（すべてテナントの操作ログに記録）`,
          },
          evidence: { grants_in_force: open, grants_this_month: grants, support_reads_this_month: reads, max_hours: SUPPORT_MAX_HOURS },
        },
      }
    }
    const grant = await supportAccess(ctx.db, ctx.tenantId, at)
    return {
      'SE-26': {
        status: 'met',
        value: { granted: grant.granted, expires_at: grant.expires_at, support_reads_this_month: reads },
        summary: grant.granted
          ? {
              en: `Support access is granted until ${grant.expires_at}: operators may read this tenant's records and files until then, each read audited here; ${plural(reads, 'read')} in ${ctx.month.month}.`,
              ja: `サポートアクセスを ${grant.expires_at} まで許可中（運用者の閲覧はすべてこのテナントの操作ログに記録）。${ctx.month.month} の閲覧 ${reads}件`,
            }
          : {
              en: `No support access is granted: operators cannot read this tenant's records or files. ${plural(grants, 'grant')} and ${plural(reads, 'operator read')} in ${ctx.month.month}.`,
              ja: `サポートアクセスの許可なし（運用者はこのテナントのデータを閲覧不可）。${ctx.month.month} の許可 ${grants}件、運用者の閲覧 ${reads}件`,
            },
        evidence: { ...grant, grants_this_month: grants, support_reads_this_month: reads, max_hours: SUPPORT_MAX_HOURS },
      },
    }
  },
})
