import { en } from './en'
import { ja, type ConsoleKey, type ConsoleMessages } from './ja'

export type ConsoleLocale = 'ja' | 'en'

const catalogues: Record<ConsoleLocale, ConsoleMessages> = { ja, en }

/**
 * The console's language: an explicit choice (the account's setting, or a
 * `lang` query on public pages) wins; else the first of ja/en that
 * Accept-Language ranks highest; Japanese by default. To be unified with
 * the mail's locale picker at merge.
 */
export function pickLocale(acceptLanguage: string | undefined, explicit?: string | null): ConsoleLocale {
  if (explicit === 'ja' || explicit === 'en') return explicit
  let best: { locale: ConsoleLocale; q: number } | null = null
  for (const part of (acceptLanguage ?? '').split(',')) {
    const [range, ...params] = part.trim().toLowerCase().split(';')
    const tag = range?.split('-')[0]
    if (tag !== 'ja' && tag !== 'en') continue
    const q = Number(params.map((p) => p.trim()).find((p) => p.startsWith('q='))?.slice(2) ?? 1)
    if (Number.isFinite(q) && q > 0 && (!best || q > best.q)) best = { locale: tag, q }
  }
  return best?.locale ?? 'ja'
}

export type Translate = (key: ConsoleKey, values?: Record<string, string | number>) => string

/** The message for `key` in `locale`, with `{name}` placeholders filled. */
export function translator(locale: ConsoleLocale): Translate {
  const messages = catalogues[locale]
  return (key, values) => messages[key].replace(/\{(\w+)\}/g, (whole, name: string) => (values && name in values ? String(values[name]) : whole))
}
