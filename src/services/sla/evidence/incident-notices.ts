import { availabilityFacts, incidentNoticeFacts, type IncidentNoticeFacts } from './operations-facts'
import { defineProvider, plural, type Bilingual, type EvidenceContext } from './provider'

function mails(ctx: EvidenceContext, f: IncidentNoticeFacts): Bilingual {
  return ctx.tenantId === null
    ? { en: `${plural(f.mailsQueued, 'mail')} queued to tenant contacts and admins, ${f.mailsSent} delivered`, ja: `テナント窓口・管理者宛メール ${f.mailsQueued}通（配信済み ${f.mailsSent}通）` }
    : { en: `${plural(f.mailsQueued, 'mail')} to this tenant's contact and admins, ${f.mailsSent} delivered`, ja: `このテナントの窓口・管理者宛メール ${f.mailsQueued}通（配信済み ${f.mailsSent}通）` }
}

/**
 * RE-4/5/6 (every incident notified at once), RE-7 (every update and the
 * resolution mailed; /status shows them), SE-40 (incidents visible to the
 * tenants they affect), GE-4/6 (notices to tenant contacts and admins): the
 * incidents opened in the report month and the notices and mails they made,
 * this tenant's or every tenant's. The incident count is the operations
 * module's (the same as AV-5 and RE-2).
 */
export const incidentNotices = defineProvider({
  name: 'incident-notices',
  ids: ['RE-4/5/6', 'RE-7', 'SE-40', 'GE-4/6'],
  async collect(ctx) {
    const [a, f] = await Promise.all([availabilityFacts(ctx), incidentNoticeFacts(ctx)])
    const month = ctx.month.month
    const scope = ctx.tenantId === null ? { en: 'platform-wide', ja: 'プラットフォーム全体' } : { en: 'affecting this tenant', ja: 'このテナントに影響' }
    const m = mails(ctx, f)
    const facts = { incidents_this_month: a.incidents, notices: f.notices, notices_done: f.noticesDone, mails_queued: f.mailsQueued, mails_sent: f.mailsSent, incident_ids: f.ids }
    return {
      'RE-4/5/6': {
        status: f.notifiedAtOpening === a.incidents ? 'met' : 'not_met',
        value: { incidents: a.incidents, notified_at_opening: f.notifiedAtOpening, mails_queued: f.mailsQueued, mails_sent: f.mailsSent },
        summary: {
          en: `Incidents are opened by operators or by the self-check every 5 minutes, and the affected tenants' contacts and admins are mailed at once: ${plural(a.incidents, 'incident')} ${scope.en} in ${month}, ${f.notifiedAtOpening} notified when opened; ${m.en}.`,
          ja: `障害は運用者または5分ごとの自己診断が登録し、影響テナントの窓口・管理者へ即時にメール通知。${month} の障害 ${a.incidents}件（${scope.ja}）、登録時に通知 ${f.notifiedAtOpening}件。${m.ja}`,
        },
        evidence: { ...facts, notified_at_opening: f.notifiedAtOpening, self_check: '*/5 * * * *' },
        ...(f.notifiedAtOpening === a.incidents
          ? {}
          : { note: { en: `${a.incidents - f.notifiedAtOpening} of the month's incidents have no opening notice on record.`, ja: `当月の障害のうち ${a.incidents - f.notifiedAtOpening}件に登録時の通知記録がありません` } }),
      },
      'RE-7': {
        status: f.laterNotices === f.laterUpdates ? 'met' : 'not_met',
        value: { updates: f.laterUpdates, update_notices: f.laterNotices, status_page: '/status' },
        summary: {
          en: `Every incident update and resolution is mailed to the affected tenants and shown on /status: ${plural(f.laterUpdates, 'update')} to the incidents of ${month} ${scope.en}, ${plural(f.laterNotices, 'notice')} sent for them; ${m.en} for all their notices.`,
          ja: `障害の続報と復旧は影響テナントへメールで通知し、/status に表示。${month} の障害（${scope.ja}）の続報 ${f.laterUpdates}件、その通知 ${f.laterNotices}件。通知全体で${m.ja}`,
        },
        evidence: { ...facts, updates_after_opening: f.laterUpdates, update_notices: f.laterNotices, status_page: '/status', open_incidents_now: f.openNow },
        ...(f.laterNotices === f.laterUpdates
          ? {}
          : { note: { en: `${f.laterUpdates - f.laterNotices} updates have no notice on record.`, ja: `通知記録のない続報 ${f.laterUpdates - f.laterNotices}件` } }),
      },
      'SE-40': {
        status: 'met',
        value: { incidents: f.visible, this_month: a.incidents, open_now: f.openNow },
        summary:
          ctx.tenantId === null
            ? {
                en: `Every incident is recorded and shown to the tenants it affects (GET /api/v1/incidents): ${plural(f.visible, 'incident')} on record, ${a.incidents} in ${month}, ${f.openNow} open now.`,
                ja: `すべての障害を記録し、影響するテナントに公開（GET /api/v1/incidents）。記録 ${f.visible}件、${month} ${a.incidents}件、対応中 ${f.openNow}件`,
              }
            : {
                en: `This tenant's admins see the incidents that affect it (GET /api/v1/incidents): ${plural(f.visible, 'incident')}, ${a.incidents} in ${month}, ${f.openNow} open now.`,
                ja: `このテナントの管理者は影響する障害を閲覧可能（GET /api/v1/incidents）: ${f.visible}件、うち ${month} ${a.incidents}件、対応中 ${f.openNow}件`,
              },
        evidence: { incidents_visible: f.visible, incidents_this_month: a.incidents, open_now: f.openNow, incident_ids_this_month: f.ids, list: ctx.tenantId === null ? 'GET /ops/v1/incidents' : 'GET /api/v1/incidents' },
      },
      'GE-4/6': {
        status: f.notifiedAtOpening === a.incidents ? 'met' : 'not_met',
        value: { notices: f.notices, mails_queued: f.mailsQueued, mails_sent: f.mailsSent },
        summary: {
          en: `Incidents are told to each affected tenant's contact address and every active admin, by mail through the outbox, when opened, on every update and when resolved: ${plural(f.notices, 'notice')} for the incidents of ${month} ${scope.en}; ${m.en}.`,
          ja: `障害は影響テナントの窓口アドレスと全管理者へ、登録時・続報ごと・復旧時にメール（送信キュー経由）で通知。${month} の障害（${scope.ja}）の通知 ${f.notices}件。${m.ja}`,
        },
        evidence: facts,
      },
    }
  },
})
