import { en as consoleEn } from './console/en'
import { ja as consoleJa, type ConsoleKey, type ConsoleMessages } from './console/ja'
import { en } from './mail/en'
import { ja, type MailCatalogue } from './mail/ja'
import type { MailText, NoticeMessage } from './mail/params'
import type { Locale } from './locale'

export { DEFAULT_LOCALE, LOCALES, isLocale, localeFromAcceptLanguage, pickLocale, type Locale } from './locale'
export type { MailCatalogue } from './mail/ja'
export type { ConsoleKey, ConsoleMessages } from './console/ja'
export type * from './mail/params'

/** Every user-facing text of one language, by area: the mail and the web console. */
export type Messages = { mail: MailCatalogue; console: ConsoleMessages }

const CATALOGUES: Record<Locale, Messages> = { ja: { mail: ja, console: consoleJa }, en: { mail: en, console: consoleEn } }

export function messages(locale: Locale): Messages {
  return CATALOGUES[locale]
}

export type Translate = (key: ConsoleKey, values?: Record<string, string | number>) => string

/** The console's message for `key` in `locale`, with `{name}` placeholders filled. */
export function translator(locale: Locale): Translate {
  const texts = messages(locale).console
  return (key, values) => texts[key].replace(/\{(\w+)\}/g, (whole, name: string) => (values && name in values ? String(values[name]) : whole))
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
