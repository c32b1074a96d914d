import { createRouter } from '../router'
import * as handlers from './ops-incidents.handlers'
import * as routes from './ops-incidents.routes'

export const opsIncidents = createRouter()
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.patch, handlers.patch)
