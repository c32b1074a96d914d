/** @jsxImportSource hono/jsx */
import type { FlashMessage } from './components'
import { Field, Flash, PostForm } from './components'
import { Layout, type PageContext } from './layout'

/** The first sign-in step; `tenant` only in the tenant console. */
export function SignInPage({ page, action, withTenant, values, flash }: { page: PageContext; action: string; withTenant: boolean; values: { tenant?: string; email?: string }; flash?: FlashMessage | null }) {
  const { t } = page
  return (
    <Layout page={page} title={t('signIn.title')} narrow>
      <Flash flash={flash} />
      <form class="stack" method="post" action={action}>
        {withTenant ? <Field label={t('signIn.tenant')} name="tenant" value={values.tenant} required autocomplete="organization" /> : null}
        <Field label={t('signIn.email')} name="email" type="email" value={values.email} required autocomplete="username" />
        <Field label={t('signIn.password')} name="password" type="password" required autocomplete="current-password" />
        <div>
          <button type="submit">{t('signIn.submit')}</button>
        </div>
      </form>
      <p class="hint">{t('signIn.forgot')}</p>
    </Layout>
  )
}

/** The second step: the challenge travels in the form, as it does in the API's answer. */
export function MfaPage({ page, action, challenge, flash }: { page: PageContext; action: string; challenge: string; flash?: FlashMessage | null }) {
  const { t } = page
  return (
    <Layout page={page} title={t('mfa.title')} narrow>
      <Flash flash={flash} />
      <p>{t('mfa.intro')}</p>
      <form class="stack" method="post" action={action}>
        <input type="hidden" name="challenge" value={challenge} />
        <Field label={t('mfa.code')} name="code" required autocomplete="one-time-code" inputmode="text" />
        <div>
          <button type="submit">{t('mfa.submit')}</button>
        </div>
      </form>
    </Layout>
  )
}

export function PasswordPage({ page, action, rules, flash }: { page: PageContext; action: string; rules: string; flash?: FlashMessage | FlashMessage[] | null }) {
  const { t, viewer } = page
  return (
    <Layout page={page} title={t('password.title')} narrow>
      {viewer?.passwordChangeOnly ? <Flash flash={{ kind: 'warn', text: t('password.forced') }} /> : null}
      <Flash flash={flash} />
      <PostForm action={action} csrf={viewer!.csrf} class="stack">
        <Field label={t('password.current')} name="current_password" type="password" required autocomplete="current-password" />
        <Field label={t('password.new')} name="new_password" type="password" required autocomplete="new-password" hint={rules} />
        <div>
          <button type="submit">{t('password.submit')}</button>
        </div>
      </PostForm>
    </Layout>
  )
}
