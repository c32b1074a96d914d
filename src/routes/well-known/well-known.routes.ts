import { jsonResponse, problemResponses } from '../../lib/openapi'
import { JwksSchema } from '../../schemas/erasure'
import { defineRoute } from '../router'

export const jwks = defineRoute(
  { audience: 'public' },
  {
    method: 'get',
    path: '/.well-known/jwks.json',
    tags: ['Operators: tenants'],
    summary: 'The public keys that verify erasure certificates (RFC 7517)',
    responses: { 200: jsonResponse(JwksSchema, 'The key set'), ...problemResponses(503) },
  },
)

export type JwksRoute = typeof jwks
