import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'

/**
 * The console's session cookies. `__Host-` pins them to this origin, path /
 * and Secure; HttpOnly keeps them from scripts; SameSite=Strict keeps them
 * off every cross-site request. Each holds the same session token an API
 * client sends as a bearer token, and only the console routes read it.
 */
export const COOKIES = { tenant: '__Host-mamori_console', ops: '__Host-mamori_ops' } as const

export type ConsoleArea = keyof typeof COOKIES

export function sessionToken(c: Context, area: ConsoleArea): string | undefined {
  return getCookie(c, COOKIES[area])
}

export function setSessionCookie(c: Context, area: ConsoleArea, token: string, expiresAt: string) {
  setCookie(c, COOKIES[area], token, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Strict',
    expires: new Date(expiresAt),
  })
}

export function clearSessionCookie(c: Context, area: ConsoleArea) {
  deleteCookie(c, COOKIES[area], { path: '/', secure: true, httpOnly: true, sameSite: 'Strict' })
}
