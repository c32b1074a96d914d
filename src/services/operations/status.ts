import { and, asc, desc, eq, gt } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { incidents, maintenanceWindows } from '../../db/schema'
import type { ServiceStatus } from '../../schemas/operations'
import { recentAnnouncements } from './announcements'
import { upcomingStandingWindows } from './calendar'
import { updatesOfIncidents } from './incidents'
import { standingRule } from './standing-rule'
import { flagInForce } from '../../lib/maintenance'
import { globalFlag } from './global-flag'
import { activeMaintenance } from './windows'

/** SU-1/2: when people answer, as the checklist states it. */
export const SUPPORT_HOURS = 'Weekdays 10:00–18:00 JST, except weekends and Japanese public holidays. Incidents are monitored around the clock.'

/**
 * The public status (AV-9, RE-7): the running version, platform-wide
 * maintenance now (the global flag, or a platform-wide window in force), the windows ahead, open incidents and recent
 * announcements. Only what concerns every tenant is shown: a window or an
 * incident of some tenants is theirs alone, so nothing here names or counts
 * a tenant.
 */
export async function serviceStatus(env: Pick<Env, 'APP_VERSION' | 'MAINTENANCE_FLAG'>, db: Database, now = Date.now()): Promise<ServiceStatus> {
  const at = new Date(now).toISOString()
  const [window, flag, upcoming, open, announcements, { rule }] = await Promise.all([
    activeMaintenance(db, now),
    globalFlag(env, now),
    db
      .select()
      .from(maintenanceWindows)
      .where(and(eq(maintenanceWindows.allTenants, true), eq(maintenanceWindows.state, 'scheduled'), gt(maintenanceWindows.startsAt, at)))
      .orderBy(asc(maintenanceWindows.startsAt))
      .limit(10),
    db
      .select()
      .from(incidents)
      .where(and(eq(incidents.allTenants, true), eq(incidents.status, 'investigating')))
      .orderBy(desc(incidents.id))
      .limit(20),
    recentAnnouncements(db),
    standingRule(db),
  ])
  const updates = await updatesOfIncidents(db, open.map((i) => i.id))
  // The global flag is what the API obeys; a platform-wide window sets it at its start, and until then the calendar still says so.
  const flagged = flagInForce(flag, now) ? flag : null
  const fromWindow = flagged?.windowId && flagged.windowId === window?.window_id ? window : null
  const maintenance = flagged
    ? {
        window_id: flagged.windowId,
        kind: fromWindow?.kind ?? ('maintenance' as const),
        ends_at: flagged.until,
        message: flagged.message ?? (flagged.until ? `Mamori is under maintenance until ${flagged.until}.` : 'Mamori is under maintenance.'),
      }
    : window
  return {
    version: env.APP_VERSION,
    generated_at: at,
    maintenance: {
      active: maintenance !== null,
      window_id: maintenance?.window_id ?? null,
      kind: maintenance?.kind ?? null,
      ends_at: maintenance?.ends_at ?? null,
      message: maintenance?.message ?? null,
    },
    upcoming_windows: upcoming.map((w) => ({ id: w.id, kind: w.kind, starts_at: w.startsAt, ends_at: w.endsAt, message: w.message })),
    standing_windows: upcomingStandingWindows(rule, now),
    open_incidents: open.map((i) => ({
      id: i.id,
      title: i.title,
      description: i.description,
      severity: i.severity,
      opened_at: i.openedAt,
      updates: (updates.get(i.id) ?? []).map((u) => ({ id: u.id, at: u.at, status: u.status, message: u.message })),
    })),
    announcements,
    support: { hours: SUPPORT_HOURS },
  }
}
