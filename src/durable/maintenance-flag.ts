import { DurableObject } from 'cloudflare:workers'
import { FLAG_OFF, flagInForce, type MaintenanceFlag } from '../lib/maintenance'

/** The global flag with who last wrote it, as the operators' view shows it. */
export type GlobalFlagState = MaintenanceFlag & {
  updatedAt: string | null
  /** `operator:<id>` or `system:<job>`; null: never written. */
  updatedBy: string | null
}

/** What a write asks for; the object assigns the version. */
export type FlagWrite = Pick<MaintenanceFlag, 'enabled' | 'message' | 'from' | 'until' | 'windowId'> & { updatedBy: string }

/** A platform-wide maintenance window in force, as the five-minute job hands it over. */
export type WindowInForce = { windowId: string; message: string; from: string; until: string }

type Stored = { flag: GlobalFlagState; lastWindowId: string | null }

const INITIAL: Stored = { flag: { ...FLAG_OFF, updatedAt: null, updatedBy: null }, lastWindowId: null }

/**
 * The global maintenance flag: one object for the whole platform. Requests
 * never call it one by one: each isolate reads it at most once a second
 * (services/operations/global-flag.ts), so its load is one call per second
 * per isolate, whatever the traffic. SQLite-backed kv, one key.
 */
export class MaintenanceFlagStore extends DurableObject<Env> {
  private state(): Stored {
    return this.ctx.storage.kv.get<Stored>('state') ?? INITIAL
  }

  private save(stored: Stored) {
    this.ctx.storage.kv.put('state', stored)
  }

  /** The flag as it stands. */
  async read(): Promise<GlobalFlagState> {
    return this.state().flag
  }

  /** Replaces the flag (an operator's PUT); returns it with its new version. */
  async write(next: FlagWrite): Promise<GlobalFlagState> {
    const stored = this.state()
    const flag: GlobalFlagState = { ...next, version: stored.flag.version + 1, updatedAt: new Date().toISOString() }
    this.save({ ...stored, flag })
    return flag
  }

  /**
   * Puts `previous` back if the flag is still at `version` (the write it
   * undoes could not be audited). A later write wins: then nothing changes.
   */
  async restore(previous: GlobalFlagState, version: number): Promise<boolean> {
    const stored = this.state()
    if (stored.flag.version !== version) return false
    this.save({ ...stored, flag: { ...previous, version: version + 1, updatedAt: new Date().toISOString() } })
    return true
  }

  /**
   * Makes the flag follow the platform-wide window in force (or none). A
   * window turns the flag on once: if an operator turns it off during the
   * window, the job does not turn it back on. An operator's flag that lasts
   * at least as long is left alone. With no window in force, a flag a window
   * set is turned off; an operator's never is. The job hands over a window
   * that starts before its next run too: the flag then names the start and
   * refuses nothing before it. A window moved before it began (same id, new
   * times or message) moves the flag it set. Returns the flag and whether
   * this call changed it.
   */
  async followWindow(window: WindowInForce | null, by: string): Promise<{ flag: GlobalFlagState; changed: boolean }> {
    const stored = this.state()
    const { flag } = stored
    const now = Date.now()
    const stamp = { version: flag.version + 1, updatedAt: new Date(now).toISOString(), updatedBy: by }
    if (window) {
      const asSet = flag.windowId !== window.windowId || (flag.from === window.from && flag.until === window.until && flag.message === window.message)
      if (stored.lastWindowId === window.windowId && asSet) return { flag, changed: false }
      const operatorOutlasts = flagInForce(flag, now) && flag.windowId === null && (flag.until === null || flag.until >= window.until)
      if (operatorOutlasts) {
        this.save({ ...stored, lastWindowId: window.windowId })
        return { flag, changed: false }
      }
      const next: GlobalFlagState = { enabled: true, message: window.message, from: window.from, until: window.until, windowId: window.windowId, ...stamp }
      this.save({ flag: next, lastWindowId: window.windowId })
      return { flag: next, changed: true }
    }
    if (flag.windowId === null || !flag.enabled) return { flag, changed: false }
    const next: GlobalFlagState = { enabled: false, message: null, from: null, until: null, windowId: null, ...stamp }
    // Over, cancelled or moved out of reach: a moved window is followed again when it comes.
    this.save({ flag: next, lastWindowId: null })
    return { flag: next, changed: true }
  }
}

/** The one global flag object. */
export function maintenanceFlagFor(env: Pick<Env, 'MAINTENANCE_FLAG'>) {
  return env.MAINTENANCE_FLAG.get(env.MAINTENANCE_FLAG.idFromName('global'))
}
