import { z } from '@hono/zod-openapi'
import { problemResponses } from '../../lib/openapi'
import { EXPORTS_PER_HOUR } from '../../services/usage/export-limit'
import { defineRoute } from '../router'

export const ExportQuerySchema = z.object({
  cursor: z.string().max(512).optional().openapi({ description: 'next_cursor from the last line of the previous part.' }),
})

export const exportData = defineRoute(
  { audience: 'tenant', permission: 'export' },
  {
    method: 'get',
    path: '/api/v1/export',
    tags: ['Export'],
    summary: 'The tenant\u2019s whole data as NDJSON (DM-2; permission `export`)',
    description:
      'One line per row of every tenant table, `{"table":"records","row":{…}}`, the row as stored. Never exported: password hashes, ' +
      'TOTP secrets, recovery-code MACs, challenge tokens and mailed codes, mail subjects and bodies. A file\u2019s line also has `download_path` ' +
      '(GET it with permission `download`); its `sha256` is in the row. The last line is `{"complete":true}`, or ' +
      '`{"complete":false,"next_cursor":"…"}` when more remains: the same request with `cursor` goes on. Streamed; audited as a data extraction. ' +
      `At most ${EXPORTS_PER_HOUR} exports per hour per tenant (each part counts), then 429 \`too-many-requests\` with \`Retry-After\`.`,
    request: { query: ExportQuerySchema },
    responses: {
      200: { description: 'The data, or one part of it', content: { 'application/x-ndjson': { schema: z.string() } } },
      ...problemResponses(401, 403, 422),
    },
  },
)

export type ExportDataRoute = typeof exportData
