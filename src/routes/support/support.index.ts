import { createRouter } from '../router'
import * as handlers from './support.handlers'
import * as routes from './support.routes'

export const support = createRouter()
  .openapi(routes.status, handlers.status)
  .openapi(routes.grant, handlers.grant)
  .openapi(routes.revoke, handlers.revoke)
