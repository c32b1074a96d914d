import { jsonBody, jsonResponse } from '../../lib/openapi'
import { ListQuerySchema } from '../../schemas/common'
import { AnnouncementCreateSchema, AnnouncementPageSchema, AnnouncementSchema } from '../../schemas/operations'
import { defineRoute } from '../router'

const access = { audience: 'operator' } as const
const tags = ['Operators: announcements']

export const list = defineRoute(access, {
  method: 'get',
  path: '/ops/v1/announcements',
  tags,
  summary: 'Announcements, newest first, each with how far its mail has got',
  request: { query: ListQuerySchema },
  responses: { 200: jsonResponse(AnnouncementPageSchema, 'A page of announcements') },
})

export const create = defineRoute(access, {
  method: 'post',
  path: '/ops/v1/announcements',
  tags,
  summary: 'Announce an end of service, an upgrade or a notice to every tenant (mailed to contacts and admins)',
  description: 'End of service needs `effective_at` at least 183 days ahead (AV-3), else 422 `lead-time-too-short`. Upgrades and notices go out at once.',
  request: { body: jsonBody(AnnouncementCreateSchema) },
  responses: { 201: jsonResponse(AnnouncementSchema, 'Announced') },
})

export type ListRoute = typeof list
export type CreateRoute = typeof create
