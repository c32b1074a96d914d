import { createRouter } from '../router'
import * as handlers from './ops-maintenance.handlers'
import * as routes from './ops-maintenance.routes'

export const opsMaintenance = createRouter().openapi(routes.get, handlers.get).openapi(routes.put, handlers.put)
