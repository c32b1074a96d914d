import { z } from '@hono/zod-openapi'

export const FileSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    content_type: z.string(),
    size_bytes: z.number().int(),
    sha256: z.string(),
    created_at: z.string(),
    created_by: z.string(),
  })
  .openapi('File')

/** A file name as the path carries it: 1–255 characters, no slashes or control characters. */
export const FileNameParamSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^/\\\p{Cc}]+$/u, 'No slashes or control characters.')
    .refine((n) => n !== '.' && n !== '..', 'Not a file name.')
    .openapi({ param: { name: 'name', in: 'path' }, example: 'report-2026-11.pdf' }),
})
