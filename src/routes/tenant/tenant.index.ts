import { createRouter } from '../router'
import * as handlers from './tenant.handlers'
import * as routes from './tenant.routes'

export const tenant = createRouter().openapi(routes.getOne, handlers.getOne).openapi(routes.patch, handlers.patch)
