/**
 * Opaque, time-sortable identifiers: `<prefix>_<10 chars time><16 chars random>`
 * in Crockford base32 (the ULID layout). Sorting by id sorts by creation time,
 * which is what cursor paging relies on; 80 random bits make ids unguessable.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'

export function newId(prefix: string, now = Date.now()): string {
  let time = ''
  let t = now
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time
    t = Math.floor(t / 32)
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let rand = ''
  for (const b of bytes) rand += ALPHABET[b % 32]
  return `${prefix}_${time}${rand}`
}

/** Shape every id accepted from a client must have; anything else is a 404, never a query. */
export const ID_PATTERN = /^[a-z]{2,4}_[0-9a-hjkmnp-tv-z]{26}$/

/**
 * The smallest id of `prefix` created at `ms` or later: ids sort by creation
 * time, so `id >= idFloor(p, from) AND id < idFloor(p, until)` is a time range
 * that an index on the id can serve.
 */
export function idFloor(prefix: string, ms: number): string {
  let time = ''
  let t = ms
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time
    t = Math.floor(t / 32)
  }
  return `${prefix}_${time}${'0'.repeat(16)}`
}
