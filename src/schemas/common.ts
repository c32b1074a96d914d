import { z } from '@hono/zod-openapi'

/** Free text from people: trimmed, non-empty, bounded, no control characters. */
export function textSchema(max: number) {
  return z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}\p{Cs}]*$/u, 'Must not contain control characters.')
}

/** An e-mail address; surrounding spaces (a common paste accident) are dropped before checking. */
export const EmailSchema = z.string().trim().pipe(z.email().max(254)).openapi({ type: 'string', format: 'email', example: 'admin@demo.example' })

export const SlugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/, '3–40 lower-case letters, digits or hyphens, not starting or ending with a hyphen.')
  .openapi({ example: 'demo' })

/** A password as typed; the length and strength rules live in the password service. */
export const PasswordInputSchema = z.string().min(1).max(1024)

export const ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: 'Page size, 1–200 (default 50).' }),
  cursor: z.string().max(512).optional().openapi({ description: 'next_cursor from the previous page.' }),
})

/**
 * An id in a path. Any string up to 64 characters passes here; ids of the
 * wrong shape then answer 404 exactly like unknown ones.
 */
export const IdParamSchema = z.object({
  id: z.string().min(1).max(64).openapi({ param: { name: 'id', in: 'path' }, example: 'rec_01hx0000000000000000000000' }),
})

export function paginated<T extends z.ZodType>(item: T, name: string) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() }).openapi(name)
}
