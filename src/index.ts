import { createApp } from './app'
import { scheduled } from './cron'

export { AuditChain } from './durable/audit-chain'
export { MaintenanceFlagStore } from './durable/maintenance-flag'
export { SessionStore } from './durable/session-store'
export { Throttle } from './durable/throttle'
export { SnapshotWorkflow } from './workflows/snapshot'

const app = createApp()

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>
