import { createRouter } from '../router'
import * as handlers from './audit.handlers'
import * as routes from './audit.routes'

export const audit = createRouter()
  .openapi(routes.list, handlers.list)
  .openapi(routes.exportAll, handlers.exportAll)
  .openapi(routes.verify, handlers.verify)
