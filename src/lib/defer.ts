/**
 * Lets a service start work that may finish after the response (mail
 * delivery) without seeing the request context: the route passes
 * `waitUntil`, a test or cron just lets the promise run.
 */
export type Defer = (work: Promise<unknown>) => void
