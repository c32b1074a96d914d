/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { DEFAULT_POLICY, PLATFORM } from '../../schemas/policy'
import { LIMITS } from '../../services/abuse/limits'
import { MFA_LIMITS } from '../../services/identity/mfa'
import { Layout } from '../../views/layout'
import { anonymousPage, consoleErrors, html, type ConsoleEnv } from '../console/kit/page'

/**
 * /help, public, in Japanese or English (`?lang=` or Accept-Language). The
 * rules it states are read from the platform limits and policy defaults the
 * services enforce, never restated by hand.
 */
export const helpPages = new Hono<ConsoleEnv>({ strict: true })

helpPages.get('/help', (c) => {
  const page = anonymousPage(c, 'public')
  const { t, locale } = page
  c.header('Vary', 'Accept-Language')
  const other = locale === 'ja' ? 'en' : 'ja'
  const rules = {
    password: t('help.rules.password', {
      min: PLATFORM.passwordMinLength,
      adminDays: PLATFORM.passwordMaxAgeDays.admin,
      memberDays: PLATFORM.passwordMaxAgeDays.member,
      history: PLATFORM.passwordHistory.min,
    }),
    lock: t('help.rules.lock', { pair: LIMITS.pair.limit, account: LIMITS.account.limit }),
    mfa: t('help.rules.mfa', { digits: MFA_LIMITS.codeDigits, minutes: MFA_LIMITS.challengeMinutes, attempts: MFA_LIMITS.attempts, recovery: MFA_LIMITS.recoveryCodes }),
    session: t('help.rules.session', {
      idle: DEFAULT_POLICY.session_idle_minutes,
      absolute: DEFAULT_POLICY.session_absolute_hours,
      idleMin: PLATFORM.sessionIdleMinutes.min,
      idleMax: PLATFORM.sessionIdleMinutes.max,
      absMin: PLATFORM.sessionAbsoluteHours.min,
      absMax: PLATFORM.sessionAbsoluteHours.max,
      perAccount: DEFAULT_POLICY.sessions_per_account,
      perAccountMax: PLATFORM.sessionsPerAccount.max,
    }),
  }
  return html(
    c,
    <Layout page={page} title={t('help.title')}>
      <p>
        <a href={`/help?lang=${other}`} hreflang={other} lang={other}>
          {t('help.lang')}
        </a>
      </p>
      <p>{t('help.intro')}</p>
      <section aria-labelledby="use">
        <h2 id="use">{t('help.use.title')}</h2>
        <ol>
          <li>{t('help.use.1')}</li>
          <li>{t('help.use.2')}</li>
          <li>{t('help.use.3')}</li>
          <li>{t('help.use.4')}</li>
        </ol>
      </section>
      <section aria-labelledby="browsers">
        <h2 id="browsers">{t('help.browsers.title')}</h2>
        <p>{t('help.browsers.body')}</p>
      </section>
      <section aria-labelledby="support">
        <h2 id="support">{t('help.support.title')}</h2>
        <p>{t('help.support.hours')}</p>
        <p>{t('help.support.contact')}</p>
      </section>
      <section aria-labelledby="incident">
        <h2 id="incident">{t('help.incident.title')}</h2>
        <p>{t('help.incident.body')}</p>
      </section>
      <section aria-labelledby="rules">
        <h2 id="rules">{t('help.rules.title')}</h2>
        <ul>
          <li>{rules.password}</li>
          <li>{rules.lock}</li>
          <li>{rules.mfa}</li>
          <li>{rules.session}</li>
        </ul>
      </section>
      <section aria-labelledby="deviations">
        <h2 id="deviations">{t('help.deviations.title')}</h2>
        <p>{t('help.deviations.body')}</p>
      </section>
    </Layout>,
  )
})

helpPages.onError(consoleErrors('public'))
