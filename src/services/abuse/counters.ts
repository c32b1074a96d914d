import { throttleFor, type ThrottleCounter, type ThrottleOp, type ThrottleResult } from '../../durable/throttle'
import { LIMITS, type Scope } from './limits'
import { tooManyRequests } from './refusal'

/** A counter of `scope` under `key` ('' for a scope with one counter per object). */
export function counter(scope: Scope, key = ''): ThrottleCounter {
  return { scope, key, rule: LIMITS[scope] }
}

export const check = (scope: Scope, key = ''): ThrottleOp => ({ op: 'check', counter: counter(scope, key) })
export const peek = (scope: Scope, key = ''): ThrottleOp => ({ op: 'peek', counter: counter(scope, key) })
export const count = (scope: Scope, key = ''): ThrottleOp => ({ op: 'count', counter: counter(scope, key) })
export const reset = (scope: Scope, key = ''): ThrottleOp => ({ op: 'reset', counter: counter(scope, key) })
export const refund = (scope: Scope, key = ''): ThrottleOp => ({ op: 'refund', counter: counter(scope, key) })
export const reserve = (id: string, scope: Scope, key = ''): ThrottleOp => ({ op: 'reserve', counter: counter(scope, key), id })
export const fail = (id: string, scope: Scope, key = ''): ThrottleOp => ({ op: 'fail', counter: counter(scope, key), id })
export const pass = (id: string, scope: Scope, key = ''): ThrottleOp => ({ op: 'pass', counter: counter(scope, key), id })
export const abandon = (id: string, scope: Scope, key = ''): ThrottleOp => ({ op: 'abandon', counter: counter(scope, key), id })

/** One RPC to one throttle object. */
export function apply(env: Env, object: string, ops: ThrottleOp[]): Promise<ThrottleResult> {
  return throttleFor(env, object).apply(ops)
}

/** How long an attempt waits for others in flight to finish before it is refused itself. */
const BUSY_WAIT_MS = 10_000

/**
 * Like apply(), for reservations: while every place left is held by
 * attempts in flight, waits (20 ms, doubling to 250 ms, with jitter) and asks
 * again, so a burst of right sign-ins takes turns instead of being refused;
 * after BUSY_WAIT_MS it is refused with a 429 of a one-second wait.
 */
export async function applyWhenFree(env: Env, object: string, ops: ThrottleOp[]): Promise<ThrottleResult> {
  const deadline = Date.now() + BUSY_WAIT_MS
  for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
    const result = await apply(env, object, ops)
    if (!result.busy) return result
    if (Date.now() + pause > deadline) throw tooManyRequests({ scope: result.busy.scope, key: '', retryAfterMs: 1000 })
    await new Promise((resolve) => setTimeout(resolve, pause + Math.floor(Math.random() * pause)))
  }
}

/** The id an attempt's reservations carry until its outcome settles them. */
export function attemptId(): string {
  return crypto.randomUUID()
}
