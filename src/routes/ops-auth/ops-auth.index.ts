import { createRouter } from '../router'
import * as handlers from './ops-auth.handlers'
import * as routes from './ops-auth.routes'

export const opsAuth = createRouter()
  .openapi(routes.bootstrap, handlers.bootstrap)
  .openapi(routes.login, handlers.login)
  .openapi(routes.mfa, handlers.mfa)
  .openapi(routes.logout, handlers.logout)
  .openapi(routes.password, handlers.password)
