import { Problem } from './problem'

/**
 * A maintenance flag as every layer carries it: the global one in its
 * Durable Object, a tenant's in D1 and in the tenant's session store. Plain
 * data so it crosses RPC boundaries unchanged.
 */
export type MaintenanceFlag = {
  enabled: boolean
  /** The operator's (or the window's) text for the users; null: a standard sentence. */
  message: string | null
  /** ISO instant from which it refuses (a window's start); null: at once. */
  from: string | null
  /** ISO instant when the flag ends by itself; null: until someone turns it off. */
  until: string | null
  /** The maintenance window that set it; null: an operator did. */
  windowId: string | null
  /** Bumped by every write of this scope: a holder never takes an older flag over a newer one. */
  version: number
}

export const FLAG_OFF: MaintenanceFlag = { enabled: false, message: null, from: null, until: null, windowId: null, version: 0 }

/** `Retry-After` when the flag names no end: long enough not to hammer, short enough to notice the end. */
export const DEFAULT_RETRY_AFTER_SECONDS = 300

/** Whether the flag refuses requests at `now` (ms): on, past its `from` and not past its `until`. */
export function flagInForce(flag: MaintenanceFlag | null | undefined, now = Date.now()): flag is MaintenanceFlag {
  return (
    !!flag &&
    flag.enabled &&
    (flag.from === null || Date.parse(flag.from) <= now) &&
    (flag.until === null || Date.parse(flag.until) > now)
  )
}

/** Seconds until the flag ends by itself (at least 1), or the default when it names no end. */
export function retryAfterSeconds(flag: Pick<MaintenanceFlag, 'until'>, now = Date.now()): number {
  if (flag.until === null) return DEFAULT_RETRY_AFTER_SECONDS
  return Math.max(1, Math.ceil((Date.parse(flag.until) - now) / 1000))
}

/** Whether `incoming` may replace `held` (never an older write over a newer one). */
export function newerFlag(incoming: MaintenanceFlag, held: MaintenanceFlag | null | undefined): boolean {
  return !held || incoming.version >= held.version
}

/** The 503 `maintenance` answer for a flag in force. */
export function maintenanceProblem(flag: MaintenanceFlag, now = Date.now()): Problem {
  return Problem.maintenance({ message: flag.message, until: flag.until, retryAfterSeconds: retryAfterSeconds(flag, now) })
}
