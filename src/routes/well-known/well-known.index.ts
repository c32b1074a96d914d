import { createRouter } from '../router'
import * as handlers from './well-known.handlers'
import * as routes from './well-known.routes'

export const wellKnown = createRouter().openapi(routes.jwks, handlers.jwks)
