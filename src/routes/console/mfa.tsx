/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { CurrentPasswordSchema, FactorChangeSchema, TotpConfirmSchema } from '../../schemas/auth'
import { me } from '../../services/identity/me'
import { addEmailFactor, finishTotp, mailFactorChangeCode, removeMyFactors, startTotp } from '../../services/identity/my-factors'
import { Field, Flash, PostForm, type FlashMessage } from '../../views/components'
import { Layout, type PageContext } from '../../views/layout'
import { QrCode } from '../../views/qr'
import { defer, requestMeta } from '../context'
import { consoleSession, html, problemFlash, text, type ConsoleContext, type ConsoleEnv } from './kit/page'
import { invalidFormProblem } from './kit/validate'

const signedIn = consoleSession('tenant')

/** Password, and a current second factor once the account has one: what replacing or removing factors asks for. */
function Reauth({ page, idPrefix, withCode }: { page: PageContext; idPrefix: string; withCode: boolean }) {
  const { t } = page
  return (
    <>
      <Field label={t('password.current')} name="current_password" type="password" required autocomplete="current-password" idPrefix={idPrefix} />
      {withCode ? <Field label={t('mfaSetup.currentCode')} name="code" autocomplete="one-time-code" idPrefix={idPrefix} hint={t('mfaSetup.currentCodeHint')} /> : null}
    </>
  )
}

async function overview(c: ConsoleContext, flash: FlashMessage | null = null, status = 200) {
  const page = c.var.page
  const { t } = page
  const csrf = page.viewer!.csrf
  const methods = (await me(database(c.env), c.var.principal)).mfa.methods
  const has = methods.length > 0
  return html(
    c,
    <Layout page={page} title={t('mfaSetup.title')}>
      <Flash flash={flash} />
      <p>
        {t('mfaSetup.current')}: <strong data-testid="mfa-methods">{has ? methods.map((m) => t(`mfaSetup.method.${m}`)).join(', ') : t('mfaSetup.noneYet')}</strong>
      </p>
      <section aria-labelledby="totp">
        <h2 id="totp">{t('mfaSetup.totp')}</h2>
        <p>{t('mfaSetup.totpIntro')}</p>
        <PostForm action="/console/mfa/totp" csrf={csrf} class="stack">
          <Reauth page={page} idPrefix="totp" withCode={has} />
          <div>
            <button type="submit">{t('mfaSetup.totpStart')}</button>
          </div>
        </PostForm>
      </section>
      {methods.includes('email') ? null : (
        <section aria-labelledby="email">
          <h2 id="email">{t('mfaSetup.email')}</h2>
          <p>{t('mfaSetup.emailIntro')}</p>
          <PostForm action="/console/mfa/email" csrf={csrf} class="stack">
            <Reauth page={page} idPrefix="email" withCode={false} />
            <div>
              <button type="submit" class="secondary">
                {t('mfaSetup.emailStart')}
              </button>
            </div>
          </PostForm>
        </section>
      )}
      {has ? (
        <section aria-labelledby="change">
          <h2 id="change">{t('mfaSetup.change')}</h2>
          {methods.includes('email') ? (
            <PostForm action="/console/mfa/code" csrf={csrf} class="inline">
              <p>
                {t('mfaSetup.mailCodeIntro')}{' '}
                <button type="submit" class="secondary">
                  {t('mfaSetup.mailCode')}
                </button>
              </p>
            </PostForm>
          ) : null}
          <PostForm action="/console/mfa/remove" csrf={csrf} class="stack">
            <p class="hint">{t('mfaSetup.removeIntro')}</p>
            <Reauth page={page} idPrefix="remove" withCode />
            <div>
              <button type="submit" class="danger">
                {t('mfaSetup.remove')}
              </button>
            </div>
          </PostForm>
        </section>
      ) : null}
    </Layout>,
    status,
  )
}

function ConfirmPage({ page, uri, flash }: { page: PageContext; uri: string; flash?: FlashMessage | null }) {
  const { t } = page
  const secret = new URL(uri).searchParams.get('secret') ?? ''
  return (
    <Layout page={page} title={t('mfaSetup.totp')}>
      <Flash flash={flash} />
      <ol class="steps">
        <li>{t('mfaSetup.scan')}</li>
      </ol>
      <QrCode data={uri} label={t('mfaSetup.qrLabel')} />
      <p>
        {t('mfaSetup.manual')}: <span class="secret" data-testid="totp-secret">{secret}</span>
      </p>
      <details>
        <summary>{t('mfaSetup.uri')}</summary>
        <p class="mono" data-testid="otpauth-uri">{uri}</p>
      </details>
      <ol class="steps" start={2}>
        <li>{t('mfaSetup.enterCode')}</li>
      </ol>
      <PostForm action="/console/mfa/totp/confirm" csrf={page.viewer!.csrf} class="stack">
        <input type="hidden" name="uri" value={uri} />
        <Field label={t('mfaSetup.appCode')} name="code" required autocomplete="one-time-code" inputmode="numeric" idPrefix="confirm" />
        <div>
          <button type="submit">{t('mfaSetup.confirm')}</button>
        </div>
      </PostForm>
    </Layout>
  )
}

export const mfaPages = new Hono<ConsoleEnv>({ strict: true })

mfaPages.get('/console/mfa', signedIn, (c) => {
  const done = c.req.query('done')
  const t = c.var.page.t
  const flash = done === 'email' ? ({ kind: 'ok', text: t('mfaSetup.emailDone') } as const) : done === 'removed' ? ({ kind: 'ok', text: t('mfaSetup.removed') } as const) : done === 'code' ? ({ kind: 'ok', text: t('mfaSetup.codeMailed') } as const) : null
  return overview(c, flash)
})

mfaPages.post('/console/mfa/email', signedIn, async (c) => {
  try {
    const parsed = CurrentPasswordSchema.safeParse({ current_password: text(c.var.form, 'current_password') })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await addEmailFactor(c.env, database(c.env), c.var.principal, parsed.data.current_password, requestMeta(c))
    return c.redirect('/console/mfa?done=email', 303)
  } catch (error) {
    return overview(c, problemFlash(c.var.page.t, error), (error as { status: number }).status)
  }
})

function factorChange(c: ConsoleContext) {
  const code = text(c.var.form, 'code').trim()
  const parsed = FactorChangeSchema.safeParse({ current_password: text(c.var.form, 'current_password'), ...(code ? { code } : {}) })
  if (!parsed.success) throw invalidFormProblem(parsed.error)
  return parsed.data
}

/** The otpauth URI (its secret) is shown on this one no-store answer; the confirm form carries it back only to show it again. */
mfaPages.post('/console/mfa/totp', signedIn, async (c) => {
  try {
    const started = await startTotp(c.env, database(c.env), c.var.principal, factorChange(c), requestMeta(c))
    return html(c, <ConfirmPage page={c.var.page} uri={started.uri} />)
  } catch (error) {
    return overview(c, problemFlash(c.var.page.t, error), (error as { status: number }).status)
  }
})

mfaPages.post('/console/mfa/totp/confirm', signedIn, async (c) => {
  const page = c.var.page
  const { t } = page
  const uri = text(c.var.form, 'uri')
  try {
    const parsed = TotpConfirmSchema.safeParse({ code: text(c.var.form, 'code').trim() })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    const { recovery_codes } = await finishTotp(c.env, database(c.env), c.var.principal, parsed.data.code, requestMeta(c))
    return html(
      c,
      <Layout page={page} title={t('mfaSetup.recoveryTitle')}>
        <Flash flash={{ kind: 'ok', text: t('mfaSetup.enrolled') }} />
        <p>{t('mfaSetup.recoveryIntro')}</p>
        <ul class="codes" data-testid="recovery-codes">
          {recovery_codes.map((code) => (
            <li class="secret">{code}</li>
          ))}
        </ul>
        <p>
          <a href="/console/mfa">{t('common.back')}</a>
        </p>
      </Layout>,
    )
  } catch (error) {
    const flash = problemFlash(t, error)
    // The pending enrolment still stands: show its code again, so a mistyped code can be retried.
    if (/^otpauth:\/\/totp\//.test(uri)) return html(c, <ConfirmPage page={page} uri={uri} flash={flash} />, (error as { status: number }).status)
    return overview(c, flash, (error as { status: number }).status)
  }
})

mfaPages.post('/console/mfa/code', signedIn, async (c) => {
  try {
    await mailFactorChangeCode(c.env, database(c.env), c.var.principal, requestMeta(c), defer(c as never))
    return c.redirect('/console/mfa?done=code', 303)
  } catch (error) {
    return overview(c, problemFlash(c.var.page.t, error), (error as { status: number }).status)
  }
})

mfaPages.post('/console/mfa/remove', signedIn, async (c) => {
  try {
    await removeMyFactors(c.env, database(c.env), c.var.principal, factorChange(c), requestMeta(c))
    return c.redirect('/console/mfa?done=removed', 303)
  } catch (error) {
    return overview(c, problemFlash(c.var.page.t, error), (error as { status: number }).status)
  }
})
