export { requirePermission, type RequirePermissionOptions } from './require-permission'
