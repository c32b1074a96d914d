import { createRouter } from '../router'
import * as handlers from './operators.handlers'
import * as routes from './operators.routes'

export const operators = createRouter()
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.patch, handlers.patch)
  .openapi(routes.unlock, handlers.unlock)
