import { z } from '@hono/zod-openapi'
import { idParam } from './common'

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

/** The shape of a file id. A name of this shape would be read back as an id by GET and DELETE. */
export const FILE_ID_PATTERN = /^fil_[0-9a-hjkmnp-tv-z]{26}$/

const NAME_CHARACTERS = /^[^/\\\p{Cc}]+$/u

/**
 * The three name rules as one ECMA-262 pattern for the document (the checks
 * below keep one message per rule): not `.` or `..`, not shaped like a file
 * id, no slashes or control characters.
 */
const NAME_PATTERN = `^(?!\\.{1,2}$)(?!${FILE_ID_PATTERN.source.slice(1, -1)}$)${NAME_CHARACTERS.source.slice(1)}`

/**
 * `/api/v1/files/{file}` is one path template: PUT names the file, GET and
 * DELETE give its id. The parameter has one name for both.
 */
const FILE_PARAM = 'file'

/** PUT: a file name as the path carries it: 1–255 characters, no slashes or control characters, never id-shaped. */
export const FileNameParamSchema = z.object({
  [FILE_PARAM]: z
    .string()
    .min(1)
    .max(255)
    .regex(NAME_CHARACTERS, 'No slashes or control characters.')
    .refine((n) => n !== '.' && n !== '..', 'Not a file name.')
    .refine((n) => !FILE_ID_PATTERN.test(n), 'Has the shape of a file id (fil_…), which GET and DELETE would read as an id; choose another name.')
    .openapi({
      param: { name: FILE_PARAM, in: 'path' },
      pattern: NAME_PATTERN,
      description: 'PUT: the file\u2019s name (not `.` or `..`, never of the shape of a file id). GET, DELETE: the file\u2019s id.',
      example: 'report-2026-11.pdf',
    }),
})

/** GET, DELETE: the file's id, in the same path position as the name of a PUT. */
export const FileIdParamSchema = z.object({
  [FILE_PARAM]: idParam(FILE_PARAM, 'fil_01hx0000000000000000000000').openapi({
    description: 'GET, DELETE: the file\u2019s id (`fil_…`, as upload and list return it); anything else answers 404. PUT: the file\u2019s name.',
  }),
})
