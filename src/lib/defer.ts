/**
 * Lets a service start work that may finish after the response (mail
 * delivery) without seeing the request context: the route passes
 * `waitUntil`, a test or cron just lets the promise run.
 */
export type Defer = (work: Promise<unknown>) => void

/**
 * For callers with no request to keep alive: the work runs unawaited (mail it
 * queues still goes out on the five-minute run if it is cut short).
 */
export const inBackground: Defer = (work) => {
  work.catch(() => undefined)
}
