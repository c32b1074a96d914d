import { z } from '@hono/zod-openapi'
import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { idParam } from '../../schemas/common'
import {
  StandingRuleSchema,
  StandingRuleViewSchema,
  WindowCreateSchema,
  WindowListQuerySchema,
  WindowPageSchema,
  WindowPatchSchema,
  WindowSchema,
} from '../../schemas/operations'
import { defineRoute } from '../router'

const access = { audience: 'operator' } as const
const tags = ['Operators: maintenance windows']
const params = z.object({ id: idParam('id', 'mw_01hx0000000000000000000000') })

export const list = defineRoute(access, {
  method: 'get',
  path: '/ops/v1/maintenance-windows',
  tags,
  summary: 'Scheduled windows, newest first, and the standing windows of the next three months',
  request: { query: WindowListQuerySchema },
  responses: { 200: jsonResponse(WindowPageSchema, 'A page of windows, with the standing rule and its next windows') },
})

export const create = defineRoute(access, {
  method: 'post',
  path: '/ops/v1/maintenance-windows',
  tags,
  summary: 'Schedule maintenance or a planned outage (at most 5 hours); every affected tenant is mailed',
  description:
    'Lead time: maintenance ≥ 7 days, outage ≥ 30 days, else 422 `lead-time-too-short` unless `emergency: true` with a `reason` (audited; its minutes count as unplanned downtime). ' +
    'A window that overlaps or directly continues an open window sharing a tenant answers 409 `window-overlap`. Unknown `tenant_ids` answer 422.',
  request: { body: jsonBody(WindowCreateSchema) },
  responses: { 201: jsonResponse(WindowSchema, 'Scheduled'), ...problemResponses(409) },
})

export const patch = defineRoute(access, {
  method: 'patch',
  path: '/ops/v1/maintenance-windows/{id}',
  tags,
  summary: 'Change a scheduled window that has not begun; tenants are mailed the new times',
  description:
    'Starting earlier or ending later needs the lead time again (or `emergency` with a `reason`); shrinking does not. 409 `window-not-changeable` once it began or closed, `window-overlap`, `edit-conflict`.',
  request: { params, body: jsonBody(WindowPatchSchema) },
  responses: { 200: jsonResponse(WindowSchema, 'The changed window'), ...problemResponses(404, 409) },
})

export const remove = defineRoute(access, {
  method: 'delete',
  path: '/ops/v1/maintenance-windows/{id}',
  tags,
  summary: 'Cancel a scheduled window, or end one in force now; tenants are mailed',
  description: '409 `window-closed` for a window that already ended or was cancelled.',
  request: { params },
  responses: { 200: jsonResponse(WindowSchema, 'The cancelled (or ended) window'), ...problemResponses(404, 409) },
})

export const getRule = defineRoute(access, {
  method: 'get',
  path: '/ops/v1/maintenance-windows/standing-rule',
  tags,
  summary: 'The standing monthly window rule (AV-1) and its next windows',
  responses: { 200: jsonResponse(StandingRuleViewSchema, 'The rule in force') },
})

export const putRule = defineRoute(access, {
  method: 'put',
  path: '/ops/v1/maintenance-windows/standing-rule',
  tags,
  summary: 'Replace the standing monthly window rule (audited); scheduled windows stay as they are',
  request: { body: jsonBody(StandingRuleSchema) },
  responses: { 200: jsonResponse(StandingRuleViewSchema, 'The rule now in force') },
})

export type ListRoute = typeof list
export type CreateRoute = typeof create
export type PatchRoute = typeof patch
export type RemoveRoute = typeof remove
export type GetRuleRoute = typeof getRule
export type PutRuleRoute = typeof putRule
