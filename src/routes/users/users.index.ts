import { createRouter } from '../router'
import * as handlers from './users.handlers'
import * as routes from './users.routes'

export const users = createRouter()
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.getOne, handlers.getOne)
  .openapi(routes.patch, handlers.patch)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.resetPassword, handlers.resetPassword)
  .openapi(routes.unlock, handlers.unlock)
  .openapi(routes.listCertificates, handlers.listCertificates)
  .openapi(routes.replaceCertificates, handlers.replaceCertificates)
