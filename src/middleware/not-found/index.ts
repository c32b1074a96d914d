export { notFound, type NotFoundOptions, type RouteEntry } from './not-found'
