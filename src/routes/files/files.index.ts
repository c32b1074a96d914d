import { createRouter } from '../router'
import * as handlers from './files.handlers'
import * as routes from './files.routes'

export const files = createRouter()
  .openapi(routes.upload, handlers.upload)
  .openapi(routes.list, handlers.list)
  .openapi(routes.download, handlers.download)
  .openapi(routes.remove, handlers.remove)
