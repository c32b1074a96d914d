import { createRouter } from '../router'
import * as handlers from './my-mfa.handlers'
import * as routes from './my-mfa.routes'

export const myMfa = createRouter()
  .openapi(routes.addEmail, handlers.addEmail)
  .openapi(routes.startTotp, handlers.startTotp)
  .openapi(routes.confirmTotp, handlers.confirmTotp)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.mailCode, handlers.mailCode)
