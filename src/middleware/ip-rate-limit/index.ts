export { IP_CEILING, carriesSessionToken, clientKey, ipRateLimit, type IpCeiling, type IpRateLimitOptions } from './ip-rate-limit'
