import { describe, expect, it } from 'vitest'
import { step, type CheckState } from '../src/services/operations/monitor'

/**
 * The self-check's state machine alone (the HTTP suite drives it through
 * the cron with D1 really failing): two failed runs open an incident, the
 * first good run resolves it, and an incident that could not be written
 * while its dependency was down is recorded when it is back.
 */
const CLEAR: CheckState = { failures: 0, since: null, incident_id: null, alerted: false }

describe('self-check state machine', () => {
  it('counts a first failure without an incident', () => {
    expect(step(CLEAR, 'fail', 't1')).toEqual({ action: 'none', next: { ...CLEAR, failures: 1, since: 't1' } })
  })

  it('opens an incident at the second failure in a row, dated from the first', () => {
    expect(step({ ...CLEAR, failures: 1, since: 't1' }, 'fail', 't2')).toEqual({ action: 'open', next: { ...CLEAR, failures: 2, since: 't1' } })
  })

  it('keeps one incident while the failure lasts', () => {
    expect(step({ ...CLEAR, failures: 2, since: 't1', incident_id: 'inc_x', alerted: true }, 'fail', 't3')).toEqual({
      action: 'none',
      next: { failures: 3, since: 't1', incident_id: 'inc_x', alerted: true },
    })
  })

  it('tries to open again while an incident could not be written', () => {
    expect(step({ ...CLEAR, failures: 2, since: 't1' }, 'fail', 't3').action).toBe('open')
  })

  it('resolves at the first good run', () => {
    expect(step({ ...CLEAR, failures: 3, since: 't1', incident_id: 'inc_x' }, 'ok', 't4')).toEqual({ action: 'resolve', next: CLEAR })
  })

  it('records an incident that never could be written, opened and resolved, once the dependency answers', () => {
    expect(step({ ...CLEAR, failures: 2, since: 't1' }, 'ok', 't3')).toEqual({ action: 'record', next: CLEAR })
  })

  it('forgets a single failure', () => {
    expect(step({ ...CLEAR, failures: 1, since: 't1' }, 'ok', 't2')).toEqual({ action: 'none', next: CLEAR })
  })
})
