import { JST_OFFSET_MS } from '../../../services/operations/calendar'

const LOCAL = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})$/

/**
 * A `datetime-local` value, which a person types in Japan time, as the
 * ISO-8601 instant with `+09:00` the API takes; anything else is passed on
 * as typed, so the API's own schema refuses it with its own message.
 */
export function jstLocalToIso(value: string): string {
  const m = LOCAL.exec(value.trim())
  return m ? `${m[1]}T${m[2]}:00+09:00` : value.trim()
}

/** An instant as a `datetime-local` value in Japan time, to prefill a form. */
export function isoToJstLocal(ms: number): string {
  return new Date(ms + JST_OFFSET_MS).toISOString().slice(0, 16)
}
