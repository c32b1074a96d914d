export { requestLog, type RequestLogLine, type RequestLogOptions, type RequestLogVariables } from './request-log'
