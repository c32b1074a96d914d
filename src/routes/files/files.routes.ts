import { z } from '@hono/zod-openapi'
import { jsonResponse, problemResponses } from '../../lib/openapi'
import { ListQuerySchema, paginated } from '../../schemas/common'
import { FileIdParamSchema, FileNameParamSchema, FileSchema } from '../../schemas/files'
import { defineRoute } from '../router'

const tags = ['Files']

export const upload = defineRoute(
  { audience: 'tenant', permission: 'files:write' },
  {
    method: 'put',
    path: '/api/v1/files/{file}',
    tags,
    summary: 'Upload a file (raw body, Content-Length required, at most 25 MiB); replaces a file of the same name',
    description:
      'The path names the file (the same path position holds the id for GET and DELETE, so a name of the shape of a file id is 422). 413 `quota-exceeded` when the plan\u2019s storage would be exceeded; nothing is stored then.',
    request: {
      params: FileNameParamSchema,
      body: { required: true, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
    },
    responses: {
      201: jsonResponse(FileSchema, 'Stored'),
      200: jsonResponse(FileSchema, 'Replaced an earlier file of this name'),
      ...problemResponses(400, 401, 403, 409, 411, 413, 422),
    },
  },
)

export const list = defineRoute(
  { audience: 'tenant', permission: 'files:read' },
  {
    method: 'get',
    path: '/api/v1/files',
    tags,
    summary: 'List files (metadata only), newest first',
    request: { query: ListQuerySchema },
    responses: { 200: jsonResponse(paginated(FileSchema, 'FilePage'), 'A page of files'), ...problemResponses(401, 403, 422) },
  },
)

export const download = defineRoute(
  { audience: 'tenant', permission: 'download' },
  {
    method: 'get',
    path: '/api/v1/files/{file}',
    tags,
    summary: 'Download a file (permission `download`, off by default; audited as a data extraction)',
    description:
      'Always `application/octet-stream` as an attachment, never rendered: the uploader\u2019s type is in the metadata (`content_type`), not on the download.',
    request: { params: FileIdParamSchema },
    responses: {
      200: { description: 'The bytes', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
      ...problemResponses(401, 403, 404),
    },
  },
)

export const remove = defineRoute(
  { audience: 'tenant', permission: 'files:write' },
  {
    method: 'delete',
    path: '/api/v1/files/{file}',
    tags,
    summary: 'Delete a file for good: the object is removed at once',
    request: { params: FileIdParamSchema },
    responses: { 204: { description: 'Deleted' }, ...problemResponses(401, 403, 404) },
  },
)

export type UploadRoute = typeof upload
export type ListRoute = typeof list
export type DownloadRoute = typeof download
export type RemoveRoute = typeof remove
