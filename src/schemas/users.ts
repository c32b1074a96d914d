import { z } from '@hono/zod-openapi'
import { PermissionSchema } from './permissions'

export const UserSchema = z
  .object({
    id: z.string(),
    tenant_id: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(['admin', 'member']),
    status: z.enum(['active', 'disabled']),
    permissions: z.array(PermissionSchema),
    must_change_password: z.boolean(),
    password_changed_at: z.string(),
    created_at: z.string(),
    created_by: z.string(),
    last_login_at: z.string().nullable(),
  })
  .openapi('User')

export type User = z.infer<typeof UserSchema>
