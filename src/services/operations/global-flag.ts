import { maintenanceFlagFor, type GlobalFlagState } from '../../durable/maintenance-flag'

/**
 * The isolate's copy of the global maintenance flag. Every tenant request
 * asks whether the platform is in maintenance; asking the one global object
 * each time would put the whole platform's traffic on one object. So each
 * isolate keeps the answer for at most CACHE_MS: the object sees one call
 * per second per isolate, and a flip reaches every isolate within a second
 * (plus one call). The isolate that made a change knows it at once.
 */
export const GLOBAL_FLAG_CACHE_MS = 1000

let held: { flag: GlobalFlagState; at: number } | null = null
let reading: Promise<GlobalFlagState> | null = null

/**
 * The global flag, from this isolate's copy when it is younger than a
 * second, else from the object (concurrent requests share one call). When
 * the object cannot be reached, the last known flag stands for another
 * second (never a made-up one): a failing flag store must not take the
 * API down, nor hammer the object.
 */
export async function globalFlag(env: Pick<Env, 'MAINTENANCE_FLAG'>, now = Date.now()): Promise<GlobalFlagState | null> {
  if (held && now - held.at < GLOBAL_FLAG_CACHE_MS) return held.flag
  reading ??= maintenanceFlagFor(env)
    .read()
    .finally(() => {
      reading = null
    })
  try {
    const flag = await reading
    remember(flag, Date.now())
    return flag
  } catch (error) {
    console.error(JSON.stringify({ level: 'error', msg: 'maintenance flag read failed', error: error instanceof Error ? error.name : 'unknown' }))
    if (held) held = { flag: held.flag, at: Date.now() }
    return held?.flag ?? null
  }
}

/** Takes a flag this isolate just wrote (or read) as its copy, unless it holds a newer one. */
export function rememberGlobalFlag(flag: GlobalFlagState) {
  remember(flag, Date.now())
}

function remember(flag: GlobalFlagState, at: number) {
  if (held && held.flag.version > flag.version && at - held.at < GLOBAL_FLAG_CACHE_MS) return
  held = { flag, at }
}
