import { z } from '@hono/zod-openapi'
import { problemResponses } from '../../lib/openapi'
import { LimitsInForceSchema } from '../../schemas/limits'
import { PermissionSchema } from '../../schemas/permissions'
import { PlanIdSchema } from '../../schemas/tenants'
import { EXPORTS_PER_HOUR } from '../../services/usage/export-limit'
import { defineRoute } from '../router'

export const LedgerEntrySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    email: z.string(),
    role: z.enum(['admin', 'member']),
    status: z.enum(['active', 'disabled']),
    permissions: z.array(PermissionSchema),
    permissions_explained: z.array(z.object({ permission: PermissionSchema, allows: z.string() })),
    mfa: z.array(z.enum(['email', 'totp'])),
    password_age_days: z.number().int(),
    password_changed_at: z.string(),
    last_login_at: z.string().nullable(),
    created_by: z.string(),
    created_at: z.string(),
  })
  .openapi('LedgerEntry')

export const ledger = defineRoute(
  { audience: 'tenant', role: 'admin' },
  {
    method: 'get',
    path: '/api/v1/ledger',
    tags: ['Users'],
    summary: 'The account ledger (SE-18): every account, its permissions and what each allows',
    description:
      `\`?format=csv\` gives UTF-8 CSV with a byte order mark (opens correctly in Excel): at most ${EXPORTS_PER_HOUR} CSV downloads per hour per tenant, ` +
      'then 429 `too-many-requests` with `Retry-After`. The JSON form also carries the tenant\u2019s limits in force. Reading it is audited.',
    request: { query: z.object({ format: z.enum(['json', 'csv']).default('json') }) },
    responses: {
      200: {
        description: 'The ledger',
        content: {
          'application/json': {
            schema: z
              .object({
                items: z.array(LedgerEntrySchema),
                next_cursor: z.null(),
                plan: PlanIdSchema.nullable(),
                limits: LimitsInForceSchema.nullable().openapi({ description: 'The limits in force for the tenant: its plan\u2019s, or per contract.' }),
              })
              .openapi('Ledger'),
          },
          'text/csv': { schema: z.string() },
        },
      },
      ...problemResponses(401, 403, 422),
    },
  },
)

export type LedgerRoute = typeof ledger
