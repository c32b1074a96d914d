import { eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { platformSettings } from '../../db/schema'
import type { RequestMeta } from '../../lib/request-meta'
import { isoNow } from '../../lib/time'
import { StandingRuleSchema, type StandingRuleInput } from '../../schemas/operations'
import { audit, type AuditActor } from '../audit/audit'
import { DEFAULT_STANDING_RULE, upcomingStandingWindows, type StandingRule } from './calendar'

const KEY = 'standing_window'

/**
 * The standing monthly window's rule in force: the operators' setting, or
 * AV-1's own (the 4th Sunday, 00:00 JST, 5 hours) while none is saved. A
 * stored value that no longer validates falls back to the default rather
 * than inventing a calendar.
 */
export async function standingRule(db: Database): Promise<{ rule: StandingRule; updated_at: string | null }> {
  const row = await db.select().from(platformSettings).where(eq(platformSettings.key, KEY)).get()
  const parsed = row ? StandingRuleSchema.safeParse(row.value) : null
  return parsed?.success ? { rule: parsed.data as StandingRule, updated_at: row!.updatedAt } : { rule: DEFAULT_STANDING_RULE, updated_at: null }
}

export async function standingRuleView(db: Database, now = Date.now()) {
  const { rule, updated_at } = await standingRule(db)
  return { rule, updated_at, upcoming: upcomingStandingWindows(rule, now) }
}

/** Replaces the rule (audited with the old and new value). Scheduled windows are not moved by it. */
export async function setStandingRule(env: Env, db: Database, input: StandingRuleInput, actor: AuditActor, meta: RequestMeta) {
  const current = await standingRule(db)
  const now = isoNow()
  const value = JSON.stringify(input)
  await audit(
    env,
    meta,
    {
      tenantId: null,
      actor,
      action: 'maintenance.standing_rule_changed',
      target: { type: 'setting', id: KEY },
      outcome: 'success',
      details: { from: current.rule, to: input },
    },
    [
      {
        sql: `INSERT INTO platform_settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
              ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
        params: [KEY, value, now, `${actor.type}:${actor.id}`],
      },
    ],
  )
  return standingRuleView(db)
}
