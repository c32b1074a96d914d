import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { DEFAULT_LOCALE, isLocale, localeFromAcceptLanguage, type Locale } from '../../../i18n'

/**
 * The language the last signed-in account of this browser chose (its own
 * setting, else its tenant's). Not a secret and no key to anything: it lets
 * pages without a session (sign-in, the maintenance page, which is answered
 * before any session is looked at) speak the viewer's language.
 */
export const LANGUAGE_COOKIE = '__Host-mamori_lang'

const YEAR_SECONDS = 365 * 86_400

/** A page nobody is signed in to: `?lang=`, else the remembered account language, else Accept-Language, else Japanese. */
export function anonymousLocale(c: Context): Locale {
  const explicit = c.req.query('lang')
  if (isLocale(explicit)) return explicit
  const remembered = getCookie(c, LANGUAGE_COOKIE)
  if (isLocale(remembered)) return remembered
  return localeFromAcceptLanguage(c.req.header('Accept-Language')) ?? DEFAULT_LOCALE
}

/**
 * A signed-in page: the account's setting (a tenant account always has one
 * through its tenant), else Accept-Language, else Japanese. A setting is
 * remembered for the pages without a session; a browser that follows
 * Accept-Language forgets it.
 */
export function signedInLocale(c: Context, setting: Locale | null): Locale {
  const remembered = getCookie(c, LANGUAGE_COOKIE)
  if (setting) {
    if (remembered !== setting) setCookie(c, LANGUAGE_COOKIE, setting, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: YEAR_SECONDS })
    return setting
  }
  if (remembered !== undefined) deleteCookie(c, LANGUAGE_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' })
  return localeFromAcceptLanguage(c.req.header('Accept-Language')) ?? DEFAULT_LOCALE
}
