import { z } from '@hono/zod-openapi'
import { textSchema } from './common'
import { WindowKindSchema } from './operations'

/** The longest operator message: it goes into every refused answer. */
export const MAINTENANCE_MESSAGE_MAX = 500

export const MaintenanceScopeSchema = z.enum(['global', 'tenant'])

const flagFields = {
  enabled: z.boolean(),
  message: textSchema(MAINTENANCE_MESSAGE_MAX).optional().openapi({ description: 'Shown to the users in every refused answer (`detail` and `message`).' }),
  until: z.iso
    .datetime({ offset: true })
    .optional()
    .openapi({ description: 'When maintenance ends by itself (ISO-8601, in the future; ignored with `enabled: false`). `Retry-After` counts down to it; without it, 300 seconds.' }),
}

/** One flag to set: the global one, or one tenant's (`tenant_id` required there and refused on the global one). */
export const MaintenancePutSchema = z
  .discriminatedUnion('scope', [
    z.strictObject({ scope: z.literal('global'), ...flagFields }).openapi('GlobalMaintenancePut'),
    z
      .strictObject({
        scope: z.literal('tenant'),
        tenant_id: z.string().min(1).max(200).openapi({ description: 'The tenant; an unknown one answers 404.' }),
        ...flagFields,
      })
      .openapi('TenantMaintenancePut'),
  ])
  .openapi('MaintenanceFlagPut')

export const MaintenanceFlagSchema = z
  .object({
    scope: MaintenanceScopeSchema,
    tenant_id: z.string().nullable(),
    enabled: z.boolean(),
    in_force: z.boolean().openapi({ description: 'Whether it refuses requests now: enabled, started, and not past `until`.' }),
    message: z.string().nullable(),
    starts_at: z.string().nullable().openapi({ description: 'Set by a window: refuses from then.' }),
    until: z.string().nullable(),
    window_id: z.string().nullable().openapi({ description: 'The maintenance window that set it; null: an operator.' }),
    version: z.number().int(),
    updated_at: z.string().nullable(),
    updated_by: z.string().nullable(),
  })
  .openapi('MaintenanceFlag')

export const MaintenanceOverviewSchema = z
  .object({
    global: MaintenanceFlagSchema,
    tenants: z.array(MaintenanceFlagSchema).openapi({ description: 'Tenant flags in force now (at most 1,000), by tenant id.' }),
    windows: z
      .array(
        z.object({
          window_id: z.string(),
          kind: WindowKindSchema,
          starts_at: z.string(),
          ends_at: z.string(),
          message: z.string().nullable(),
          tenant_ids: z.array(z.string()).nullable().openapi({ description: 'null: every tenant.' }),
        }),
      )
      .openapi({ description: 'Maintenance windows in force now; the five-minute job turns their flags on and off.' }),
  })
  .openapi('MaintenanceOverview')

export type MaintenancePut = z.infer<typeof MaintenancePutSchema>
export type MaintenanceFlagView = z.infer<typeof MaintenanceFlagSchema>
export type MaintenanceOverview = z.infer<typeof MaintenanceOverviewSchema>
