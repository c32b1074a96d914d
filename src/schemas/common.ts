import { z } from '@hono/zod-openapi'

const NO_CONTROL_CHARACTERS = /^[^\p{Cc}\p{Cs}]*$/u

/**
 * Free text from people: trimmed, non-empty, bounded, no control characters.
 * The document carries the expression's source: the generator writes the
 * RegExp's `toString()`, whose `/u` tail would make the pattern match nothing.
 */
export function textSchema(max: number) {
  return z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(NO_CONTROL_CHARACTERS, 'Must not contain control characters.')
    .openapi({ pattern: NO_CONTROL_CHARACTERS.source })
}

/**
 * The addresses this service accepts: zod's e-mail expression (no quoted
 * local parts, no IP-literal or dotless domains). The document states this
 * very pattern instead of `format: email`, which promises every RFC 5321
 * mailbox.
 */
export const EMAIL_PATTERN = z.regexes.email

/** An e-mail address; surrounding spaces (a common paste accident) are dropped before checking. */
export const EmailSchema = z
  .string()
  .trim()
  .pipe(z.email({ pattern: EMAIL_PATTERN }).max(254))
  .openapi({
    type: 'string',
    maxLength: 254,
    pattern: EMAIL_PATTERN.source,
    description: 'An e-mail address of the form the pattern describes (surrounding spaces are dropped).',
    example: 'admin@demo.example',
  })

export const SlugSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/, '3–40 lower-case letters, digits or hyphens, not starting or ending with a hyphen.')
  .openapi({ example: 'demo' })

/** A PATCH body must name at least one field (`minProperties: 1` in the document). */
export const changesSomething = (patch: object) => Object.keys(patch).length > 0
export const NOTHING_TO_CHANGE = 'Nothing to change: send at least one field.'

/** A password as typed; the length and strength rules live in the password service. */
export const PasswordInputSchema = z.string().min(1).max(1024)

export const ListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50).openapi({ description: 'Page size, 1–200 (default 50).' }),
  cursor: z
    .string()
    .min(1, 'An empty cursor is not a cursor: leave the parameter out for the first page.')
    .max(512)
    .optional()
    .openapi({ description: 'next_cursor from the previous page; leave the parameter out (never empty) for the first page.' }),
})

/**
 * An id in a path, as any string: an id of the wrong shape, of any length,
 * answers 404 exactly like an unknown one, without a query, so the answer
 * never tells a caller which ids could exist.
 */
export function idParam(name: string, example: string) {
  return z.string().openapi({
    param: { name, in: 'path' },
    description: 'An id as this API issued it. Anything else answers 404 like an unknown id.',
    example,
  })
}

export const IdParamSchema = z.object({ id: idParam('id', 'rec_01hx0000000000000000000000') })

export function paginated<T extends z.ZodType>(item: T, name: string) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() }).openapi(name)
}
