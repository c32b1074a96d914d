export { requestId, type RequestIdOptions, type RequestIdVariables } from './request-id'
