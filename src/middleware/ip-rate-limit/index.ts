export { IP_CEILINGS, clientKey, ipRateLimit, type IpCeiling, type IpRateLimitOptions } from './ip-rate-limit'
