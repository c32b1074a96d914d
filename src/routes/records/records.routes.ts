import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { IdParamSchema, ListQuerySchema, paginated } from '../../schemas/common'
import { RecordInputSchema, RecordListQuerySchema, RecordSchema } from '../../schemas/records'
import { defineRoute } from '../router'

const tags = ['Records']
const read = { audience: 'tenant', permission: 'records:read' } as const
const write = { audience: 'tenant', permission: 'records:write' } as const

export const list = defineRoute(read, {
  method: 'get',
  path: '/api/v1/records',
  tags,
  summary: 'List records, newest first, optionally of one collection',
  request: { query: ListQuerySchema.extend(RecordListQuerySchema.shape) },
  responses: { 200: jsonResponse(paginated(RecordSchema, 'RecordPage'), 'A page of records'), ...problemResponses(401, 403, 422) },
})

export const create = defineRoute(write, {
  method: 'post',
  path: '/api/v1/records',
  tags,
  summary: 'Create a record',
  request: { body: jsonBody(RecordInputSchema) },
  responses: { 201: jsonResponse(RecordSchema, 'Created'), ...problemResponses(400, 401, 403, 413, 415, 422) },
})

export const getOne = defineRoute(read, {
  method: 'get',
  path: '/api/v1/records/{id}',
  tags,
  summary: 'One record',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(RecordSchema, 'The record'), ...problemResponses(401, 403, 404) },
})

export const update = defineRoute(write, {
  method: 'put',
  path: '/api/v1/records/{id}',
  tags,
  summary: 'Replace a record\u2019s collection and data',
  request: { params: IdParamSchema, body: jsonBody(RecordInputSchema) },
  responses: { 200: jsonResponse(RecordSchema, 'The new version'), ...problemResponses(400, 401, 403, 404, 413, 415, 422) },
})

export const remove = defineRoute(write, {
  method: 'delete',
  path: '/api/v1/records/{id}',
  tags,
  summary: 'Delete a record for good (no soft delete)',
  request: { params: IdParamSchema },
  responses: { 204: { description: 'Deleted' }, ...problemResponses(401, 403, 404) },
})

export type ListRoute = typeof list
export type CreateRoute = typeof create
export type GetOneRoute = typeof getOne
export type UpdateRoute = typeof update
export type RemoveRoute = typeof remove
