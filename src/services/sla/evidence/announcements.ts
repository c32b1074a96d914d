import { END_OF_SERVICE_LEAD_MS, formatJst } from '../../operations/calendar'
import { announcementFacts, type AnnouncementFact } from './operations-facts'
import { defineProvider, plural, type Bilingual, type EvidenceContext } from './provider'

function mailWords(ctx: EvidenceContext, mails: number): Bilingual {
  return ctx.tenantId === null
    ? { en: plural(mails, 'notice mail'), ja: `通知メール ${mails}通` }
    : { en: `${plural(mails, 'notice mail')} to this tenant's contact and admins`, ja: `このテナントの窓口・管理者への通知メール ${mails}通` }
}

const mailsOf = (list: AnnouncementFact[]) => list.reduce((sum, a) => sum + a.notice.mails, 0)

/**
 * AV-3: end of service is announced at least 183 days ahead (the service
 * refuses less, with no emergency bypass) and AV-9: upgrades are announced
 * and the running version shows on /status. Both go by mail to every
 * tenant's contact and admins; each announcement shows the notice it gave
 * and its mails (this tenant's, or all).
 */
export const announcements = defineProvider({
  name: 'announcements',
  ids: ['AV-3', 'AV-9'],
  async collect(ctx) {
    const { endOfService, upgrades, truncated } = await announcementFacts(ctx)
    const required = END_OF_SERVICE_LEAD_MS / 86_400_000
    const short = endOfService.filter((a) => a.notice_days < required)
    const unmailed = [...endOfService, ...upgrades].filter((a) => a.notice.status === null)
    const eosMails = mailWords(ctx, mailsOf(endOfService))
    const upgradeMails = mailWords(ctx, mailsOf(upgrades))
    const shortest = endOfService.length ? Math.min(...endOfService.map((a) => a.notice_days)) : null
    const eosOk = short.length === 0 && endOfService.every((a) => a.notice.status !== null)
    const upgradesOk = upgrades.every((a) => a.notice.status !== null)
    const list = endOfService.map((a) => `${formatJst(a.effective_at)} (${a.notice_days} days' notice)`).join(', ')
    const listJa = endOfService.map((a) => `${formatJst(a.effective_at)}（${a.notice_days}日前に告知）`).join('、')
    const version = ctx.env.APP_VERSION
    return {
      'AV-3': {
        status: eosOk ? 'met' : 'not_met',
        value: { lead_days_required: required, announcements: endOfService.length, shortest_notice_days: shortest },
        summary: {
          en: `End of service needs ${required} days' notice (shorter is refused): ${endOfService.length ? `${plural(endOfService.length, 'end-of-service announcement')}, effective ${list}; ${eosMails.en}.` : 'none is announced.'}`,
          ja: `サービス終了は${required}日前までの告知が必要（それ以内は拒否）。${endOfService.length ? `告知済み ${endOfService.length}件: ${listJa}。${eosMails.ja}` : '告知中のサービス終了なし'}`,
        },
        evidence: { lead_days_required: required, announcements: endOfService, notice_mails: mailsOf(endOfService), truncated },
        ...(eosOk
          ? {}
          : {
              note: {
                en: `${short.length} announcements gave less than ${required} days' notice and ${endOfService.filter((a) => a.notice.status === null).length} have no notice on record.`,
                ja: `告知期間が${required}日未満のもの ${short.length}件、通知記録のないもの ${endOfService.filter((a) => a.notice.status === null).length}件`,
              },
            }),
      },
      'AV-9': {
        status: upgradesOk ? 'met' : 'not_met',
        value: { running_version: version, upgrades_announced: upgrades.length },
        summary: {
          en: `Running version ${version}, shown on /status; upgrades are announced by mail to every tenant (POST /ops/v1/announcements): ${plural(upgrades.length, 'upgrade')} announced for ${ctx.month.month} or later; ${upgradeMails.en}.`,
          ja: `稼働中のバージョン ${version}（/status に表示）。バージョンアップは全テナントへメールで告知（POST /ops/v1/announcements）: ${ctx.month.month} 以降の告知 ${upgrades.length}件、${upgradeMails.ja}`,
        },
        evidence: { running_version: version, status_page: '/status', upgrades, notice_mails: mailsOf(upgrades), truncated },
        ...(upgradesOk
          ? {}
          : { note: { en: `${unmailed.length} announcements have no notice on record.`, ja: `通知記録のない告知 ${unmailed.length}件` } }),
      },
    }
  },
})
