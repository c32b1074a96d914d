import { formatJst } from './calendar'

/**
 * Every text the operations notices mail, in one place, so the message
 * catalogue (Japanese and English) can take them over whole. Plain data in,
 * `{subject, body}` out; nothing here reads the clock or the database.
 */
export type NoticeText = { subject: string; body: string }

type WindowFacts = {
  kind: 'maintenance' | 'outage'
  starts_at: string
  ends_at: string
  emergency: boolean
  reason: string | null
  message: string | null
}

const FOOTER = '\n--\nMamori operations. The service status is always at /status.\n'

function what(w: Pick<WindowFacts, 'kind'>) {
  return w.kind === 'outage' ? 'planned outage' : 'maintenance'
}

function when(w: Pick<WindowFacts, 'starts_at' | 'ends_at'>) {
  return `${formatJst(w.starts_at)} – ${formatJst(w.ends_at)} (${w.starts_at} – ${w.ends_at} UTC)`
}

function details(w: WindowFacts) {
  return [
    `When: ${when(w)}`,
    w.emergency ? `This is emergency ${what(w)}${w.reason ? `: ${w.reason}` : ''}.` : null,
    w.message ? `Message: ${w.message}` : null,
    'During the window the service answers 503 with a maintenance notice; operators, /health and /status keep working.',
  ]
    .filter(Boolean)
    .join('\n')
}

export type WindowEvent = 'scheduled' | 'changed' | 'cancelled' | 'reminder-7d' | 'reminder-1d' | 'started' | 'ended'

export function windowNotice(event: WindowEvent, w: WindowFacts): NoticeText {
  const label = what(w)
  const at = formatJst(w.starts_at)
  switch (event) {
    case 'scheduled':
      return { subject: `Mamori: ${label} scheduled for ${at}`, body: `Mamori ${label} is scheduled.\n\n${details(w)}\n${FOOTER}` }
    case 'changed':
      return { subject: `Mamori: ${label} changed, now ${at}`, body: `The times of a scheduled Mamori ${label} changed.\n\n${details(w)}\n${FOOTER}` }
    case 'cancelled':
      return { subject: `Mamori: ${label} of ${at} cancelled`, body: `The Mamori ${label} planned for ${when(w)} is cancelled. The service stays available.\n${FOOTER}` }
    case 'reminder-7d':
      return { subject: `Mamori: ${label} in 7 days (${at})`, body: `Reminder: Mamori ${label} in 7 days.\n\n${details(w)}\n${FOOTER}` }
    case 'reminder-1d':
      return { subject: `Mamori: ${label} tomorrow (${at})`, body: `Reminder: Mamori ${label} within a day.\n\n${details(w)}\n${FOOTER}` }
    case 'started':
      return { subject: `Mamori: ${label} has started`, body: `Mamori ${label} has started and lasts until ${formatJst(w.ends_at)}.\n\n${details(w)}\n${FOOTER}` }
    case 'ended':
      return { subject: `Mamori: ${label} has ended`, body: `Mamori ${label} has ended at ${formatJst(w.ends_at)}; the service is available again.\n${FOOTER}` }
  }
}

export function announcementNotice(a: { kind: 'end_of_service' | 'upgrade' | 'notice'; effective_at: string; subject: string; body: string }): NoticeText {
  const label = { end_of_service: 'End of service', upgrade: 'Upgrade', notice: 'Notice' }[a.kind]
  return {
    subject: `Mamori: ${a.subject}`,
    body: `${label}, effective ${formatJst(a.effective_at)} (${a.effective_at} UTC).\n\n${a.body}\n${FOOTER}`,
  }
}

type IncidentFacts = { title: string; description: string; severity: string; opened_at: string; resolved_at: string | null }

export type IncidentEvent = { kind: 'opened' } | { kind: 'update'; message: string } | { kind: 'resolved'; message: string }

export function incidentNotice(event: IncidentEvent, i: IncidentFacts): NoticeText {
  const head = `Incident: ${i.title} (severity ${i.severity}), since ${formatJst(i.opened_at)}.`
  switch (event.kind) {
    case 'opened':
      return { subject: `Mamori incident: ${i.title}`, body: `${head}\n\n${i.description}\n\nWe are investigating and will write again on every change.\n${FOOTER}` }
    case 'update':
      return { subject: `Mamori incident update: ${i.title}`, body: `${head}\n\nUpdate: ${event.message}\n${FOOTER}` }
    case 'resolved':
      return {
        subject: `Mamori incident resolved: ${i.title}`,
        body: `${head}\nResolved at ${formatJst(i.resolved_at!)}.\n\n${event.message}\n${FOOTER}`,
      }
  }
}
