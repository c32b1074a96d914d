export { securityHeaders, type SecurityHeadersOptions } from './security-headers'
