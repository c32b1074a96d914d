import { z } from '@hono/zod-openapi'
import { EmailSchema, NOTHING_TO_CHANGE, changesSomething, textSchema } from './common'
import { LanguageSchema } from './language'
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
    language: LanguageSchema.nullable().openapi({ description: 'The language of this account\u2019s mail (`ja` or `en`); null follows the tenant\u2019s.' }),
  })
  .openapi('User')

export type User = z.infer<typeof UserSchema>

const Permissions = z
  .array(PermissionSchema)
  .max(20)
  .refine((list) => new Set(list).size === list.length, 'List each permission once.')
  .openapi({
    uniqueItems: true,
    description: 'The complete list of grants, each once. Omit for the role\u2019s defaults; `download` and `export` are never defaults.',
  })

/** An account's own mail language, or null to follow the tenant's. */
export const AccountLanguage = LanguageSchema.nullable().openapi({ description: 'The account\u2019s mail language (`ja` or `en`); null follows the tenant\u2019s.' })

export const UserCreateSchema = z
  .strictObject({
    email: EmailSchema,
    name: textSchema(200),
    role: z.enum(['admin', 'member']),
    permissions: Permissions.optional(),
    language: AccountLanguage.optional(),
  })
  .openapi('UserCreate')

export const UserPatchSchema = z
  .strictObject({
    name: textSchema(200).optional(),
    role: z.enum(['admin', 'member']).optional(),
    status: z.enum(['active', 'disabled']).optional(),
    permissions: Permissions.optional(),
    language: AccountLanguage.optional(),
  })
  .refine(changesSomething, NOTHING_TO_CHANGE)
  .openapi('UserPatch', { minProperties: 1 })

export const UserCreatedSchema = UserSchema.extend({
  temporary_password: z.string().openapi({ description: 'Shown once; must be changed at first sign-in.' }),
}).openapi('UserCreated')

export const ResetResultSchema = z
  .object({
    temporary_password: z.string().openapi({ description: 'Shown once; the user must change it at the next sign-in.' }),
    sessions_revoked: z.number().int(),
  })
  .openapi('PasswordReset')
