/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx'
import type { TenantIncident } from '../schemas/operations'
import { Time } from './components'
import type { PageContext } from './layout'

/**
 * One incident as the tenant and the operator consoles both show it: title
 * and status, severity, when it opened and was resolved, its description and
 * its timeline. The operator page adds facts (`facts`: scope, source) and its
 * update form (`children`).
 */
export function IncidentCard({ page, incident, facts, children }: { page: PageContext; incident: TenantIncident; facts?: Child; children?: Child }) {
  const { t } = page
  const open = incident.status === 'investigating'
  return (
    <article class="card incident" aria-labelledby={`h-${incident.id}`}>
      <h3 id={`h-${incident.id}`}>
        {incident.title} <span class={`status ${open ? 'not_met' : 'met'}`}>{t(`ops.incidents.status.${incident.status}`)}</span>
      </h3>
      <dl class="facts">
        <dt>{t('ops.incidents.severity')}</dt>
        <dd>{t(`ops.incidents.severity.${incident.severity}`)}</dd>
        <dt>{t('ops.incidents.openedAt')}</dt>
        <dd>
          <Time iso={incident.opened_at} />
        </dd>
        {incident.resolved_at ? (
          <>
            <dt>{t('ops.incidents.resolvedAt')}</dt>
            <dd>
              <Time iso={incident.resolved_at} />
            </dd>
          </>
        ) : null}
        {facts}
      </dl>
      <p class="pre">{incident.description}</p>
      {incident.updates.length ? (
        <>
          <h4>{t('incidents.updates')}</h4>
          <ol class="steps">
            {incident.updates.map((u) => (
              <li>
                <Time iso={u.at} /> · {t(`ops.incidents.status.${u.status}`)}: <span class="pre">{u.message}</span>
              </li>
            ))}
          </ol>
        </>
      ) : null}
      {children}
    </article>
  )
}
