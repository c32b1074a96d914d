import type { Database } from '../../db/client'
import type { CounterState } from '../../durable/throttle'
import type { SqlWrite } from '../../durable/audit-chain'
import type { Defer } from '../../lib/defer'
import type { RequestMeta } from '../../lib/request-meta'
import { audit } from '../audit/audit'
import { securityAlert } from '../alerts/security-alerts'
import { deliverMail, queueMail } from '../mail/mail'
import { accountLocale } from '../mail/recipients'
import { messages, type Locale, type MailText } from '../../i18n'
import { LIMITS, type Scope } from './limits'

/** Who a tripped counter is about, as far as the caller knows. */
export type TripSubject = {
  /** The chain the event goes to: the tenant's when it exists, else the platform's (null). */
  tenantId: string | null
  /** The account, when it exists: its owner is told by mail. */
  account: { type: 'user' | 'operator'; id: string; email: string } | null
  /**
   * What names the key in the event: the e-mail of a real account, else
   * keyed hashes of what was typed (it may be a password in the wrong field).
   */
  identity: Record<string, unknown>
}

const LOCKS = new Set<Scope>(['account', 'mfa'])

/** The owner's mail for a block or lock (a first pair block, a lock), in the owner's language. */
function mailFor(scope: Scope, meta: RequestMeta, state: CounterState, locale: Locale): MailText | null {
  const mail = messages(locale).mail
  switch (scope) {
    case 'pair':
      // Once per run of failures: the first block only, not every longer one after it.
      if (state.priorBlocks > 0) return null
      return mail.failedSignIns({ count: state.count, ip: meta.ip })
    case 'account':
      return mail.accountLocked({ count: state.count })
    case 'mfa':
      return mail.secondStepLocked({ count: state.count, ip: meta.ip })
    default:
      return null
  }
}

/**
 * Records that a counter just started a block or a lock: one security event
 * per key per block (never one per refused attempt; the attempts refused
 * during the previous block ride along as `refused_previous_block`), and for
 * a real account the owner's mail (a first pair block, a lock). `writes`
 * commit in the same transaction (ending a locked account's challenges).
 * Only when `state` tripped; otherwise nothing happens.
 */
export async function announceTrip(
  env: Env,
  db: Database,
  meta: RequestMeta,
  defer: Defer,
  state: CounterState,
  subject: TripSubject,
  writes: SqlWrite[] = [],
): Promise<void> {
  if (!state.tripped) return
  const scope = state.scope as Scope
  const rule = LIMITS[scope]
  const window = state.locked ? null : rule.kind === 'window' ? rule.windowMs / 1000 : Math.round((state.blockedUntil - Date.now()) / 1000)
  const owner = subject.account
  const mail = owner ? mailFor(scope, meta, state, await accountLocale(db, { ...owner, tenantId: subject.tenantId })) : null
  const queued = mail && owner ? queueMail(db, { tenantId: subject.tenantId, to: owner.email, subject: mail.subject, body: mail.text }) : null
  await audit(
    env,
    meta,
    {
      tenantId: subject.tenantId,
      actor: subject.account ? { type: subject.account.type, id: subject.account.id } : { type: 'anonymous', id: null },
      action: LOCKS.has(scope) ? 'security.account_locked' : 'security.throttled',
      ...(subject.account ? { target: { type: subject.account.type, id: subject.account.id } } : {}),
      outcome: 'denied',
      details: {
        scope,
        count: state.count,
        window,
        ...(state.refusedBefore > 0 ? { refused_previous_block: state.refusedBefore } : {}),
        ...(queued ? { owner_notified: true } : {}),
        ...subject.identity,
      },
    },
    [...(queued ? [queued.write] : []), ...writes],
  )
  if (queued) defer(deliverMail(env, db, [queued.id]))
  // A real account under attack or locked is intrusion evidence (SE-28): the tenant's admins
  // are mailed and the operators' webhook called, at most once an hour per account and kind.
  const kind = scope === 'pair' ? 'brute_force' : LOCKS.has(scope) ? 'account_locked' : null
  if (kind && subject.account) {
    await securityAlert(env, db, meta, {
      tenantId: subject.tenantId,
      kind,
      subject: { type: subject.account.type, id: subject.account.id },
      count: state.count,
      threshold: rule.limit,
      details: { scope, ...(window !== null ? { window_seconds: window } : {}) },
      once: { key: `${kind}:${scope}:${subject.account.id}`, windowMinutes: 60 },
    }, { defer })
  }
}
