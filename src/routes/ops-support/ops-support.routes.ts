import { jsonResponse, problemResponses } from '../../lib/openapi'
import { IdParamSchema, ListQuerySchema, paginated } from '../../schemas/common'
import { FileSchema } from '../../schemas/files'
import { RecordSchema } from '../../schemas/records'
import { defineRoute } from '../router'

const operator = { audience: 'operator' } as const
const tags = ['Operators: support view']

export const records = defineRoute(operator, {
  method: 'get',
  path: '/ops/v1/tenants/{id}/records',
  tags,
  summary: 'A tenant\u2019s records, only while it grants support access (else 403 support-access-required)',
  request: { params: IdParamSchema, query: ListQuerySchema },
  responses: { 200: jsonResponse(paginated(RecordSchema, 'SupportRecordPage'), 'A page of records'), ...problemResponses(401, 403, 404, 422) },
})

export const files = defineRoute(operator, {
  method: 'get',
  path: '/ops/v1/tenants/{id}/files',
  tags,
  summary: 'A tenant\u2019s file list, only while it grants support access (else 403 support-access-required)',
  request: { params: IdParamSchema, query: ListQuerySchema },
  responses: { 200: jsonResponse(paginated(FileSchema, 'SupportFilePage'), 'A page of files'), ...problemResponses(401, 403, 404, 422) },
})

export type RecordsRoute = typeof records
export type FilesRoute = typeof files
