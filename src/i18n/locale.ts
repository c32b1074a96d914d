/**
 * The languages Mamori speaks to people (mail today, the console later), and
 * how the one for a recipient is chosen. A leaf: imports nothing of the app.
 */
export const LOCALES = ['ja', 'en'] as const

export type Locale = (typeof LOCALES)[number]

/** Japanese unless someone chose otherwise: the product's customers are Japanese enterprises. */
export const DEFAULT_LOCALE: Locale = 'ja'

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value)
}

/**
 * The language of one recipient: the account's own setting, else its
 * tenant's, else Japanese. A tenant's contact address has no account: pass
 * only the tenant's. Anything unknown (a value from older storage) falls through.
 */
export function pickLocale(account?: string | null, tenant?: string | null): Locale {
  if (isLocale(account)) return account
  if (isLocale(tenant)) return tenant
  return DEFAULT_LOCALE
}

/**
 * The best language an `Accept-Language` header (RFC 9110 §12.5.4) asks
 * for among ours, or null when it names none of them (the caller then falls
 * back to the account's or tenant's setting). Ranges are taken by weight,
 * ties in the order given; `q=0` means "not this one"; `*` and malformed
 * entries choose nothing; `ja-JP` counts as `ja`, `en-GB` as `en`.
 */
export function localeFromAcceptLanguage(header: string | null | undefined): Locale | null {
  if (!header) return null
  const ranges: { tag: string; q: number; at: number }[] = []
  header.split(',').forEach((part, at) => {
    const [range, ...params] = part.trim().split(';').map((s) => s.trim())
    if (!range || !/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(range)) return
    let q = 1
    for (const param of params) {
      const m = /^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$/i.exec(param)
      if (m) q = Number(m[1])
      else return
    }
    ranges.push({ tag: range.split('-')[0]!.toLowerCase(), q, at })
  })
  ranges.sort((a, b) => b.q - a.q || a.at - b.at)
  for (const { tag, q } of ranges) {
    if (q > 0 && isLocale(tag)) return tag
  }
  return null
}
