import { throttleFor, type ThrottleCounter, type ThrottleOp, type ThrottleResult } from '../../durable/throttle'
import { LIMITS, type Scope } from './limits'

/** A counter of `scope` under `key` ('' for a scope with one counter per object). */
export function counter(scope: Scope, key = ''): ThrottleCounter {
  return { scope, key, rule: LIMITS[scope] }
}

export const attempt = (scope: Scope, key = ''): ThrottleOp => ({ op: 'attempt', counter: counter(scope, key) })
export const check = (scope: Scope, key = ''): ThrottleOp => ({ op: 'check', counter: counter(scope, key) })
export const peek = (scope: Scope, key = ''): ThrottleOp => ({ op: 'peek', counter: counter(scope, key) })
export const reset = (scope: Scope, key = ''): ThrottleOp => ({ op: 'reset', counter: counter(scope, key) })
export const refund = (scope: Scope, key = ''): ThrottleOp => ({ op: 'refund', counter: counter(scope, key) })

/** One RPC to one throttle object. */
export function apply(env: Env, object: string, ops: ThrottleOp[]): Promise<ThrottleResult> {
  return throttleFor(env, object).apply(ops)
}
