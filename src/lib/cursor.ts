import { Problem } from './problem'
import { fromBase64Url, toBase64Url, utf8 } from './encoding'

/**
 * Opaque list cursors. The wire form is base64url so clients treat it as a
 * token; inside it is the sort key of the last item returned.
 */
export function encodeCursor(key: string): string {
  return toBase64Url(utf8(key))
}

export function decodeCursor(cursor: string | undefined, pattern: RegExp): string | undefined {
  if (cursor === undefined) return undefined
  let key: string
  try {
    key = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(fromBase64Url(cursor))
  } catch {
    throw invalidCursor()
  }
  if (!pattern.test(key)) throw invalidCursor()
  return key
}

function invalidCursor() {
  return Problem.validation([{ path: 'query.cursor', message: 'Not a cursor this API issued.' }], 'Invalid cursor.')
}

/** Splits one extra row off a `limit + 1` query into the page and the next cursor. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => string) {
  const items = rows.slice(0, limit)
  const last = items.at(-1)
  return { items, next_cursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null }
}
