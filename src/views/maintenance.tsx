/** @jsxImportSource hono/jsx */
import { formatJst } from '../services/operations/calendar'
import { Flash } from './components'
import { Layout, type PageContext } from './layout'

/**
 * The console's maintenance answer: the operator's message as given (it has
 * one language, whoever wrote it), else the standard sentence in the
 * viewer's language, and the planned end in Japan time.
 */
export function MaintenancePage({ page, message, until, requestId }: { page: PageContext; message: string | null; until: string | null; requestId: string }) {
  const { t } = page
  return (
    <Layout page={page} title={t('maintenance.title')} narrow>
      <Flash flash={{ kind: 'warn', text: t('maintenance.standard') }} />
      {message ? (
        <section aria-labelledby="operator-message">
          <h2 id="operator-message">{t('maintenance.operatorMessage')}</h2>
          <p class="pre" data-testid="maintenance-message">
            {message}
          </p>
        </section>
      ) : null}
      <p>
        {until ? <time datetime={until}>{t('maintenance.until', { until: formatJst(until) })}</time> : t('maintenance.noEnd')}
      </p>
      <p>
        <a href="/status">{t('maintenance.status')}</a>
      </p>
      <p class="hint">{t('error.requestId', { id: requestId })}</p>
    </Layout>
  )
}
