import { createRouter } from '../router'
import * as handlers from './policy.handlers'
import * as routes from './policy.routes'

export const policy = createRouter().openapi(routes.getOne, handlers.getOne).openapi(routes.update, handlers.update)
