import { createRouter } from '../router'
import * as handlers from './ops-backups.handlers'
import * as routes from './ops-backups.routes'

export const opsBackups = createRouter()
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.verify, handlers.verify)
  .openapi(routes.restore, handlers.restore)
