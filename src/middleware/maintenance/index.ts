export { maintenance, type MaintenanceOptions } from './maintenance'
