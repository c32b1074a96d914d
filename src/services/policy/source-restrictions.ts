import { Problem } from '../../lib/problem'
import type { RequestMeta } from '../../lib/request-meta'
import { checkSource, type RequestSource, type SourceRules, type SourceVerdict } from '../../lib/source-rules'
import type { Policy } from '../../schemas/policy'
import type { Principal } from '../../schemas/principal'
import { database } from '../../db/client'
import { audit } from '../audit/audit'
import { afterSourceRefusal, sourceRefusalCounter } from '../alerts/detectors'

/** The platform allowlist for operators, from OPS_IP_ALLOWLIST (comma-separated CIDRs; empty: anywhere). */
export function operatorAllowlist(env: Pick<Env, 'OPS_IP_ALLOWLIST'>): string[] {
  return (env.OPS_IP_ALLOWLIST ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

export function operatorSourceVerdict(env: Pick<Env, 'OPS_IP_ALLOWLIST'>, source: RequestSource): SourceVerdict {
  return checkSource(
    { ip_allowlist: { operator: operatorAllowlist(env) }, client_cert_required: {} },
    'operator',
    source,
    [],
  )
}

/** The source rules of a tenant policy (saved at `version`), in the shape the session store checks. */
export function sourceRulesOf(policy: Pick<Policy, 'ip_allowlist' | 'client_cert_required'>, version = ''): SourceRules {
  return { ip_allowlist: policy.ip_allowlist, client_cert_required: policy.client_cert_required, version }
}

/** Whose request was refused: a session's principal, or an account at sign-in. */
export type SourceSubject = { tenantId: string | null; actorType: Principal['actorType']; actorId: string | null; role: string }

/**
 * Records a refused source as a security event on the caller's chain and
 * throws the 403 `source-not-allowed` problem. Refusals are counted per
 * tenant (the platform, for operators): a burst raises one alert per window.
 */
export async function refuseSource(
  env: Env,
  meta: RequestMeta,
  who: SourceSubject,
  verdict: { rule: 'ip' | 'certificate'; detail: string },
): Promise<never> {
  // Counted in the refusal's own transaction, so a burst is seen exactly at its threshold.
  const counter = sourceRefusalCounter(database(env), who.tenantId)
  const recorded = await audit(
    env,
    meta,
    {
      tenantId: who.tenantId,
      actor: { type: who.actorType, id: who.actorId },
      action: 'security.source_refused',
      target: { type: who.actorType, id: who.actorId },
      outcome: 'denied',
      details: { rule: verdict.rule, role: who.role, reason: verdict.detail },
    },
    [counter.write],
  )
  if (recorded.ok) await afterSourceRefusal(env, meta, counter.ref, recorded.rows[0], verdict.rule)
  throw Problem.forbidden(verdict.detail, 'source-not-allowed')
}
