export { bodyLimit, type BodyLimitOptions } from './body-limit'
