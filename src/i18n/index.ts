import { en } from './mail/en'
import { ja, type MailCatalogue } from './mail/ja'
import type { MailText, NoticeMessage } from './mail/params'
import type { Locale } from './locale'

export { DEFAULT_LOCALE, LOCALES, isLocale, localeFromAcceptLanguage, pickLocale, type Locale } from './locale'
export type { MailCatalogue } from './mail/ja'
export type * from './mail/params'

/**
 * Every user-facing text of one language, by area. Only `mail` today; the
 * web console's texts join as `console` (src/i18n/console/{ja,en}.ts).
 */
export type Messages = { mail: MailCatalogue }

const CATALOGUES: Record<Locale, Messages> = { ja: { mail: ja }, en: { mail: en } }

export function messages(locale: Locale): Messages {
  return CATALOGUES[locale]
}

/** A stored notice (services/operations/notices.ts) written out in one language. */
export function noticeMail(locale: Locale, message: NoticeMessage): MailText {
  const mail = messages(locale).mail
  switch (message.kind) {
    case 'window': {
      const w = message.window
      const byEvent = {
        scheduled: mail.windowScheduled,
        changed: mail.windowChanged,
        cancelled: mail.windowCancelled,
        'reminder-7d': mail.windowReminder7d,
        'reminder-1d': mail.windowReminder1d,
        started: mail.windowStarted,
        ended: mail.windowEnded,
      } as const
      return byEvent[message.event](w)
    }
    case 'announcement':
      return mail.announcement(message.announcement)
    case 'incident': {
      const { event, incident } = message
      if (event.kind === 'opened') return mail.incidentOpened(incident)
      if (event.kind === 'update') return mail.incidentUpdated({ ...incident, message: event.message })
      return mail.incidentResolved({ ...incident, message: event.message })
    }
  }
}
