import { jsonResponse, problemResponses } from '../../lib/openapi'
import { RotateQuerySchema, RotationResultSchema } from '../../schemas/keys'
import { defineRoute } from '../router'

const operator = { audience: 'operator' } as const
const tags = ['Operators: keys']

export const rotate = defineRoute(operator, {
  method: 'post',
  path: '/ops/v1/keys/rotate',
  tags,
  summary:
    'Re-wrap data keys under the current MASTER_KEY (and re-seal legacy secrets), a batch per call; repeat until remaining is 0, then remove MASTER_KEY_PREVIOUS',
  request: { query: RotateQuerySchema },
  responses: { 200: jsonResponse(RotationResultSchema, 'What this call did and what is left'), ...problemResponses(401, 409, 422) },
})

export type RotateRoute = typeof rotate
