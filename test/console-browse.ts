import { SELF } from 'cloudflare:test'
import { expect } from 'vitest'
import { ORIGIN } from './helpers'

export type Page = { status: number; headers: Headers; text: string }

export type BrowseOptions = { cookie?: string; form?: Record<string, string | string[]>; multipart?: FormData; headers?: Record<string, string> }

/** One browser-like request: form bodies (urlencoded or multipart), a console cookie, no redirect following. */
export async function browse(method: 'GET' | 'POST', path: string, options: BrowseOptions = {}): Promise<Page> {
  const headers: Record<string, string> = { Accept: 'text/html', ...options.headers }
  if (options.cookie) headers.Cookie = options.cookie
  let body: string | FormData | undefined
  if (options.form) {
    const params = new URLSearchParams()
    for (const [name, value] of Object.entries(options.form)) for (const v of [value].flat()) params.append(name, v)
    body = params.toString()
    headers['Content-Type'] = 'application/x-www-form-urlencoded'
    headers.Origin ??= ORIGIN
  } else if (options.multipart) {
    body = options.multipart
    headers.Origin ??= ORIGIN
  }
  const res = await SELF.fetch(`${ORIGIN}${path}`, { method, headers, body, redirect: 'manual' })
  return { status: res.status, headers: res.headers, text: await res.text() }
}

/** The value of a hidden field in the page. */
export function hidden(text: string, name: string): string {
  const value = new RegExp(`name="${name}" value="([^"]+)"`).exec(text)?.[1]
  expect(value, `no ${name} in the page`).toBeDefined()
  return value!
}

/** The cookie pair a Set-Cookie header sets, for the next request. */
export function cookieOf(page: Page, name = '__Host-mamori_console'): string {
  const set = page.headers.get('Set-Cookie') ?? ''
  const pair = new RegExp(`(${name}=[^;]+)`).exec(set)?.[1]
  expect(pair, `no ${name} cookie in ${set}`).toBeDefined()
  return pair!
}
