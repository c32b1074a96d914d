import { createRouter } from '../router'
import * as handlers from './records.handlers'
import * as routes from './records.routes'

export const records = createRouter()
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.getOne, handlers.getOne)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove)
