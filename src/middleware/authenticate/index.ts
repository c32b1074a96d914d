export { authenticate, type AuthenticateOptions, type AuthenticateVariables } from './authenticate'
