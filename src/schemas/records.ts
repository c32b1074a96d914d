import { z } from '@hono/zod-openapi'

export const RECORD_DATA_MAX_BYTES = 64 * 1024
const RECORD_DATA_MAX_DEPTH = 32

/** Nesting depth of a parsed JSON value, computed without recursion. */
function depthOf(value: unknown): number {
  let max = 0
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length) {
    const [v, d] = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (d > max) max = d
    if (max > RECORD_DATA_MAX_DEPTH) return max
    for (const child of Object.values(v)) stack.push([child, d + 1])
  }
  return max
}

export const CollectionSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, '1–64 letters, digits, "_", "." or "-", starting with a letter or digit.')
  .openapi({ example: 'customers' })

/**
 * Where the first number that JSON cannot hold sits (`1e400` parses to
 * Infinity, which would be stored as `null`), or null. Runs only on data
 * already known to be at most RECORD_DATA_MAX_DEPTH deep, so the paths stay short.
 */
function nonFiniteNumberPath(value: unknown): Array<string | number> | null {
  const stack: Array<[unknown, Array<string | number>]> = [[value, []]]
  while (stack.length) {
    const [v, path] = stack.pop()!
    if (typeof v === 'number' && !Number.isFinite(v)) return path
    if (v === null || typeof v !== 'object') continue
    if (Array.isArray(v)) v.forEach((child, i) => stack.push([child, [...path, i]]))
    else for (const [key, child] of Object.entries(v)) stack.push([child, [...path, key]])
  }
  return null
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Any JSON object, kept as parsed. Not z.record(): that copies keys by
 * assignment, which silently turns a `"__proto__"` key into a prototype
 * change and drops it from the data.
 */
export const RecordDataSchema = z
  .custom<Record<string, unknown>>(isPlainObject, 'Expected a JSON object.')
  .superRefine((data, ctx) => {
    if (depthOf(data) > RECORD_DATA_MAX_DEPTH) {
      ctx.addIssue({ code: 'custom', message: `Nested deeper than ${RECORD_DATA_MAX_DEPTH} levels.` })
      return
    }
    const nonFinite = nonFiniteNumberPath(data)
    if (nonFinite) {
      ctx.addIssue({ code: 'custom', path: nonFinite, message: 'A number too large for JSON (it would be stored as null).' })
      return
    }
    if (new TextEncoder().encode(JSON.stringify(data)).length > RECORD_DATA_MAX_BYTES) {
      ctx.addIssue({ code: 'custom', message: `Larger than ${RECORD_DATA_MAX_BYTES} bytes as JSON.` })
    }
  })
  .openapi({
    type: 'object',
    additionalProperties: true,
    description: 'Any JSON object, at most 64 KiB serialised and 32 levels deep; numbers must be finite (no `1e400`).',
    example: { name: 'Acme' },
  })

export const RecordInputSchema = z
  .strictObject({ collection: CollectionSchema, data: RecordDataSchema })
  .openapi('RecordInput')

export const RecordSchema = z
  .object({
    id: z.string(),
    collection: z.string(),
    data: z.record(z.string(), z.unknown()),
    created_at: z.string(),
    updated_at: z.string(),
    created_by: z.string(),
    updated_by: z.string(),
  })
  .openapi('Record')

export const RecordListQuerySchema = z.object({ collection: CollectionSchema.optional() })

export type RecordInput = z.infer<typeof RecordInputSchema>
export type TenantRecord = z.infer<typeof RecordSchema>
