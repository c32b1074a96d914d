import { createRouter } from '../router'
import * as handlers from './ops-keys.handlers'
import * as routes from './ops-keys.routes'

export const opsKeys = createRouter().openapi(routes.rotate, handlers.rotate)
