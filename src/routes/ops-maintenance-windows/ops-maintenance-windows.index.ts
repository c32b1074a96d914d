import { createRouter } from '../router'
import * as handlers from './ops-maintenance-windows.handlers'
import * as routes from './ops-maintenance-windows.routes'

// The standing rule's fixed path goes before the `{id}` routes.
export const opsMaintenanceWindows = createRouter()
  .openapi(routes.getRule, handlers.getRule)
  .openapi(routes.putRule, handlers.putRule)
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.patch, handlers.patch)
  .openapi(routes.remove, handlers.remove)
