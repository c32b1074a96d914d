import { jsonResponse, problemResponses } from '../../lib/openapi'
import { UsageSchema } from '../../schemas/usage'
import { defineRoute } from '../router'

export const getUsage = defineRoute(
  { audience: 'tenant', role: 'admin' },
  {
    method: 'get',
    path: '/api/v1/usage',
    tags: ['Usage'],
    summary: 'This tenant\u2019s usage against its limits: requests this minute and this month, storage, seats, sessions',
    description:
      'Each figure is shown against the limit in force: the plan\u2019s, or an operator\u2019s per-contract override (`source`). ' +
      'Requests are counted per 60-second window and per calendar month in Japan time; refused (429) requests do not count. ' +
      'The admins (and the tenant\u2019s contact address) are mailed once when the month reaches 80 % and once at 100 % of its quota.',
    responses: { 200: jsonResponse(UsageSchema, 'The usage'), ...problemResponses(401, 403) },
  },
)

export type GetUsageRoute = typeof getUsage
