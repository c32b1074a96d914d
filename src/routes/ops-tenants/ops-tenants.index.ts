import { createRouter } from '../router'
import * as handlers from './ops-tenants.handlers'
import * as routes from './ops-tenants.routes'

export const opsTenants = createRouter()
  .openapi(routes.listPlans, handlers.listPlans)
  .openapi(routes.list, handlers.list)
  .openapi(routes.create, handlers.create)
  .openapi(routes.getOne, handlers.getOne)
  .openapi(routes.patch, handlers.patch)
  .openapi(routes.remove, handlers.remove)
  .openapi(routes.certificate, handlers.certificate)
  .openapi(routes.usage, handlers.usage)
  .openapi(routes.resetAdminPassword, handlers.resetAdminPassword)
