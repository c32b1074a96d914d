import { jsonBody, jsonResponse, problemResponses } from '../../lib/openapi'
import { OperatorSchema, UnlockedSchema } from '../../schemas/auth'
import { IdParamSchema, ListQuerySchema, paginated } from '../../schemas/common'
import { OperatorInviteSchema, OperatorInvitedSchema, OperatorPatchSchema } from '../../schemas/operators'
import { defineRoute } from '../router'

const access = { audience: 'operator' } as const
const tags = ['Operators']

export const list = defineRoute(access, {
  method: 'get',
  path: '/ops/v1/operators',
  tags,
  summary: 'The provider\u2019s operators, newest first',
  request: { query: ListQuerySchema },
  responses: { 200: jsonResponse(paginated(OperatorSchema, 'OperatorPage'), 'A page of operators'), ...problemResponses(401, 403, 422) },
})

export const create = defineRoute(access, {
  method: 'post',
  path: '/ops/v1/operators',
  tags,
  summary: 'Invite an operator (temporary password returned once)',
  description:
    'The first sign-in with the temporary password also needs a code mailed to the new operator\u2019s own address, and may only change the password. 409 `email-taken` for a duplicate.',
  request: { body: jsonBody(OperatorInviteSchema) },
  responses: { 201: jsonResponse(OperatorInvitedSchema, 'Invited'), ...problemResponses(400, 401, 403, 409, 413, 415, 422) },
})

export const patch = defineRoute(access, {
  method: 'patch',
  path: '/ops/v1/operators/{id}',
  tags,
  summary: 'Disable or re-enable an operator',
  description:
    'Disabling ends the operator\u2019s sessions at once. 409 `cannot-disable-self` for your own account, 409 `last-operator` when no other active operator would remain.',
  request: { params: IdParamSchema, body: jsonBody(OperatorPatchSchema) },
  responses: { 200: jsonResponse(OperatorSchema, 'The operator'), ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422) },
})

export const unlock = defineRoute(access, {
  method: 'post',
  path: '/ops/v1/operators/{id}/unlock',
  tags,
  summary: 'Lift an operator\u2019s sign-in and second-factor locks',
  description:
    'Ends the lock after 100 failed sign-ins in a row, the second-factor lock after 10 wrong codes, and the blocks of the networks the operator was guessed from. Audited as `operator.unlock`.',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(UnlockedSchema, 'Unlocked'), ...problemResponses(401, 403, 404) },
})

export type ListRoute = typeof list
export type UnlockRoute = typeof unlock
export type CreateRoute = typeof create
export type PatchRoute = typeof patch
