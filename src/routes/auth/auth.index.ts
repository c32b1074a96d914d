import { createRouter } from '../router'
import * as handlers from './auth.handlers'
import * as routes from './auth.routes'

export const auth = createRouter()
  .openapi(routes.login, handlers.login)
  .openapi(routes.mfa, handlers.mfa)
  .openapi(routes.requestReset, handlers.requestReset)
  .openapi(routes.confirmReset, handlers.confirmReset)
  .openapi(routes.changePassword, handlers.changePassword)
  .openapi(routes.logout, handlers.logout)
  .openapi(routes.me, handlers.me)
  .openapi(routes.patchMe, handlers.patchMe)
