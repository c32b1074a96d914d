import { z } from '@hono/zod-openapi'
import { ListQuerySchema, NOTHING_TO_CHANGE, changesSomething, paginated, textSchema } from './common'

/** Free text over several lines (announcement bodies, incident descriptions): line breaks allowed, no other control characters. */
const MULTILINE = /^(?:[^\p{Cc}\p{Cs}]|\r?\n|\t)*$/u

export function multilineSchema(max: number) {
  return z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(MULTILINE, 'Must not contain control characters other than line breaks and tabs.')
    .openapi({ pattern: MULTILINE.source })
}

const isoInstant = z.iso.datetime({ offset: true })

const TENANT_ID = /^tn_[0-9a-hjkmnp-tv-z]{26}$/

/** The tenants a window or an incident concerns; absent means every tenant. */
const TenantIdsSchema = z
  .array(z.string().regex(TENANT_ID, 'Not a tenant id.').openapi({ pattern: TENANT_ID.source, example: 'tn_01hx0000000000000000000000' }))
  .min(1)
  .max(1000)
  .refine((list) => new Set(list).size === list.length, 'List each tenant once.')
  .openapi({ uniqueItems: true, description: 'The tenants concerned (each once, at most 1,000); omit for every tenant.' })

// ---------------------------------------------------------------- maintenance windows

export const WindowKindSchema = z.enum(['maintenance', 'outage'])
export const WindowStateSchema = z.enum(['scheduled', 'active', 'ended', 'cancelled'])

export const WindowCreateSchema = z
  .strictObject({
    starts_at: isoInstant.openapi({ description: 'ISO-8601 with offset (`Z` or `+09:00`). At least 7 days ahead (maintenance) or 30 days (outage) unless `emergency`.' }),
    duration_minutes: z.number().int().min(1).max(300).openapi({ description: 'At most 300 (5 hours, AV-1).' }),
    kind: WindowKindSchema,
    emergency: z.boolean().optional().openapi({ description: 'Waives the lead time; needs a `reason`, is audited, and its minutes count as unplanned downtime.' }),
    reason: textSchema(1000).optional(),
    message: textSchema(500).optional().openapi({ description: 'Shown to the tenants\u2019 users while the window is in force.' }),
    tenant_ids: TenantIdsSchema.optional(),
  })
  .openapi('MaintenanceWindowCreate')

export const WindowPatchSchema = z
  .strictObject({
    starts_at: isoInstant.optional(),
    duration_minutes: z.number().int().min(1).max(300).optional(),
    emergency: z.boolean().optional(),
    reason: textSchema(1000).optional(),
    message: textSchema(500).optional(),
  })
  .refine(changesSomething, NOTHING_TO_CHANGE)
  .openapi('MaintenanceWindowPatch', {
    minProperties: 1,
    description: 'Only a scheduled window that has not begun changes. Starting earlier, ending later or dropping `emergency` needs the lead time from now (or `emergency` with a `reason`); a change that only shrinks it does not.',
  })

export const WindowSchema = z
  .object({
    id: z.string(),
    kind: WindowKindSchema,
    state: WindowStateSchema,
    starts_at: z.string(),
    ends_at: z.string(),
    duration_minutes: z.number().int(),
    emergency: z.boolean(),
    reason: z.string().nullable(),
    message: z.string().nullable(),
    tenant_ids: z.array(z.string()).nullable().openapi({ description: 'null: every tenant.' }),
    within_standing_window: z.boolean().openapi({ description: 'Whether it lies inside the standing monthly window of its month (AV-1).' }),
    revision: z.number().int(),
    created_by: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    started_at: z.string().nullable(),
    ended_at: z.string().nullable(),
    cancelled_at: z.string().nullable(),
  })
  .openapi('MaintenanceWindow')

const HHMM = /^(?:[01]\d|2[0-3]):[0-5]\d$/

export const StandingRuleSchema = z
  .strictObject({
    week_of_month: z.number().int().min(1).max(4).openapi({ description: 'Which occurrence of the weekday in the JST month (1–4: every month has them).' }),
    weekday: z.number().int().min(0).max(6).openapi({ description: '0 = Sunday … 6 = Saturday.' }),
    start_time_jst: z.string().regex(HHMM, 'HH:MM, 24-hour.').openapi({ pattern: HHMM.source, example: '00:00' }),
    duration_minutes: z.number().int().min(1).max(300),
  })
  .openapi('StandingMaintenanceRule', { description: 'The standing monthly window (AV-1: the 4th Sunday, 00:00 JST, 5 hours).' })

export const IntervalSchema = z.object({ starts_at: z.string(), ends_at: z.string() }).openapi('Interval')

export const WindowListQuerySchema = ListQuerySchema.extend({ state: WindowStateSchema.optional() })

export const WindowPageSchema = paginated(WindowSchema, 'MaintenanceWindowPage')
  .extend({
    standing_rule: StandingRuleSchema,
    standing_windows: z.array(IntervalSchema).openapi({ description: 'The standing windows of the next three months, from the rule in force.' }),
  })
  .openapi('MaintenanceWindowList')

export const StandingRuleViewSchema = z
  .object({ rule: StandingRuleSchema, updated_at: z.string().nullable(), upcoming: z.array(IntervalSchema) })
  .openapi('StandingMaintenanceRuleView')

// ---------------------------------------------------------------- announcements

export const AnnouncementKindSchema = z.enum(['end_of_service', 'upgrade', 'notice'])

export const AnnouncementCreateSchema = z
  .strictObject({
    kind: AnnouncementKindSchema,
    effective_at: isoInstant.openapi({ description: 'End of service: at least 183 days ahead (AV-3).' }),
    subject: textSchema(200),
    body: multilineSchema(10_000),
  })
  .openapi('AnnouncementCreate')

export const NoticeProgressSchema = z
  .object({
    status: z.enum(['pending', 'done']),
    tenants_notified: z.number().int(),
    mails_queued: z.number().int(),
  })
  .openapi('NoticeProgress', { description: 'How far the mail to every affected tenant has got (it goes out in bounded chunks).' })

export const AnnouncementSchema = z
  .object({
    id: z.string(),
    kind: AnnouncementKindSchema,
    effective_at: z.string(),
    subject: z.string(),
    body: z.string(),
    created_by: z.string(),
    created_at: z.string(),
    notice: NoticeProgressSchema.nullable(),
  })
  .openapi('Announcement')

export const AnnouncementPageSchema = paginated(AnnouncementSchema, 'AnnouncementPage')

// ---------------------------------------------------------------- incidents

export const SeveritySchema = z.enum(['minor', 'major', 'critical']).openapi({
  description: '`minor`: degraded, the service answers; `major` and `critical`: the service or a part of it is down (counted as downtime).',
})
export const IncidentStatusSchema = z.enum(['investigating', 'resolved'])

export const IncidentCreateSchema = z
  .strictObject({
    title: textSchema(200),
    description: multilineSchema(5000),
    severity: SeveritySchema,
    tenant_ids: TenantIdsSchema.optional(),
  })
  .openapi('IncidentCreate')

export const IncidentPatchSchema = z
  .strictObject({
    status: IncidentStatusSchema.optional(),
    update: multilineSchema(5000).optional(),
  })
  .refine(changesSomething, NOTHING_TO_CHANGE)
  .openapi('IncidentPatch', { minProperties: 1, description: 'A resolved incident stays resolved (409 `incident-resolved` for `investigating`); updates may still be added.' })

export const IncidentUpdateSchema = z
  .object({ id: z.string(), at: z.string(), status: IncidentStatusSchema, message: z.string() })
  .openapi('IncidentUpdate')

/** What a tenant admin sees: nothing about which other tenants were affected. */
export const TenantIncidentSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    description: z.string(),
    severity: SeveritySchema,
    status: IncidentStatusSchema,
    opened_at: z.string(),
    resolved_at: z.string().nullable(),
    updates: z.array(IncidentUpdateSchema),
  })
  .openapi('TenantIncident')

export const IncidentSchema = TenantIncidentSchema.extend({
  source: z.enum(['operator', 'self-check']),
  failed_check: z.string().nullable().openapi({ description: 'The dependency a self-check incident is about (`d1`, `r2`, `durable_objects`).' }),
  tenant_ids: z.array(z.string()).nullable().openapi({ description: 'null: every tenant.' }),
  opened_by: z.string(),
  updated_at: z.string(),
}).openapi('Incident')

export const IncidentPageSchema = paginated(IncidentSchema, 'IncidentPage')
export const TenantIncidentPageSchema = paginated(TenantIncidentSchema, 'TenantIncidentPage')

export const IncidentListQuerySchema = ListQuerySchema.extend({ status: IncidentStatusSchema.optional() })

// ---------------------------------------------------------------- public status

export const StatusSchema = z
  .object({
    version: z.string(),
    generated_at: z.string(),
    maintenance: z
      .object({
        active: z.boolean(),
        window_id: z.string().nullable(),
        kind: WindowKindSchema.nullable(),
        ends_at: z.string().nullable().openapi({ description: 'When it ends; null: no end named (or none in force).' }),
        message: z.string().nullable(),
      })
      .openapi({ description: 'Platform-wide maintenance in force now: the global maintenance flag, or a window over every tenant.' }),
    upcoming_windows: z.array(
      z.object({ id: z.string(), kind: WindowKindSchema, starts_at: z.string(), ends_at: z.string(), message: z.string().nullable() }),
    ),
    standing_windows: z.array(IntervalSchema),
    open_incidents: z.array(
      z.object({
        id: z.string(),
        title: z.string(),
        description: z.string(),
        severity: SeveritySchema,
        opened_at: z.string(),
        updates: z.array(IncidentUpdateSchema),
      }),
    ),
    announcements: z.array(
      z.object({ id: z.string(), kind: AnnouncementKindSchema, effective_at: z.string(), subject: z.string(), body: z.string(), created_at: z.string() }),
    ),
    support: z.object({ hours: z.string() }),
  })
  .openapi('ServiceStatus')

export type WindowCreate = z.infer<typeof WindowCreateSchema>
export type WindowPatch = z.infer<typeof WindowPatchSchema>
export type MaintenanceWindow = z.infer<typeof WindowSchema>
export type StandingRuleInput = z.infer<typeof StandingRuleSchema>
export type AnnouncementCreate = z.infer<typeof AnnouncementCreateSchema>
export type Announcement = z.infer<typeof AnnouncementSchema>
export type IncidentCreate = z.infer<typeof IncidentCreateSchema>
export type IncidentPatch = z.infer<typeof IncidentPatchSchema>
export type Incident = z.infer<typeof IncidentSchema>
export type TenantIncident = z.infer<typeof TenantIncidentSchema>
export type ServiceStatus = z.infer<typeof StatusSchema>
