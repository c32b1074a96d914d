/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { MePatchSchema } from '../../schemas/auth'
import { TenantSettingsPatchSchema } from '../../schemas/tenants'
import { currentUser, updateMe } from '../../services/identity/me'
import { getTenantSettings, updateTenantSettings } from '../../services/tenancy/tenant-settings'
import { exportHeaders, startExport } from '../../services/data/export-request'
import { Flash, PostForm, Select, type FlashMessage } from '../../views/components'
import { Layout } from '../../views/layout'
import { actorOf, requestMeta } from '../context'
import { consoleSession, html, problemFlash, text, type ConsoleContext, type ConsoleEnv } from './kit/page'
import { invalidFormProblem } from './kit/validate'
import { ExportQuerySchema } from '../export/export.routes'

const signedIn = consoleSession('tenant')
const admin = consoleSession('tenant', { admin: true })

async function settingsPage(c: ConsoleContext, flash: FlashMessage | null = null, status = 200) {
  const page = c.var.page
  const { t } = page
  const db = database(c.env)
  const principal = c.var.principal
  const isAdmin = principal.role === 'admin'
  const [user, tenant] = await Promise.all([currentUser(db, principal), isAdmin ? getTenantSettings(db, principal.tenantId!) : Promise.resolve(null)])
  const csrf = page.viewer!.csrf
  const languages = [
    { value: 'ja', label: t('lang.ja') },
    { value: 'en', label: t('lang.en') },
  ]
  return html(
    c,
    <Layout page={page} title={t('settings.title')}>
      <Flash flash={flash ?? (c.req.query('done') === 'saved' ? { kind: 'ok', text: t('settings.saved') } : null)} />
      <section aria-labelledby="mine">
        <h2 id="mine">{t('settings.mine')}</h2>
        <PostForm action="/console/settings" csrf={csrf} class="stack">
          <Select
            label={t('settings.language')}
            name="language"
            idPrefix="me"
            value={user.language ?? ''}
            options={[{ value: '', label: t('settings.followTenant', { lang: t(`lang.${user.tenantLanguage}`) }) }, ...languages]}
          />
          <div>
            <button type="submit">{t('settings.save')}</button>
          </div>
        </PostForm>
      </section>
      {tenant ? (
        <section aria-labelledby="tenant-settings">
          <h2 id="tenant-settings">{t('settings.tenant')}</h2>
          <PostForm action="/console/settings/tenant" csrf={csrf} class="stack">
            <Select label={t('settings.tenantLanguage')} name="language" idPrefix="tenant" value={tenant.language} options={languages} hint={t('settings.tenantLanguageHint')} />
            <div>
              <button type="submit">{t('settings.save')}</button>
            </div>
          </PostForm>
        </section>
      ) : null}
    </Layout>,
    status,
  )
}

export const settingsPages = new Hono<ConsoleEnv>({ strict: true })

settingsPages.get('/console/settings', signedIn, (c) => settingsPage(c))

settingsPages.post('/console/settings', signedIn, async (c) => {
  const chosen = text(c.var.form, 'language')
  try {
    // '' is "follow the tenant": the API's null.
    const parsed = MePatchSchema.safeParse({ language: chosen === '' ? null : chosen })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await updateMe(c.env, database(c.env), c.var.principal, parsed.data, requestMeta(c))
    return c.redirect('/console/settings?done=saved', 303)
  } catch (error) {
    return settingsPage(c, problemFlash(c.var.page.t, error), (error as { status: number }).status)
  }
})

settingsPages.post('/console/settings/tenant', admin, async (c) => {
  try {
    const parsed = TenantSettingsPatchSchema.safeParse({ language: text(c.var.form, 'language') })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await updateTenantSettings(c.env, database(c.env), c.var.principal.tenantId!, parsed.data, actorOf(c as never), requestMeta(c))
    return c.redirect('/console/settings?done=saved', 303)
  } catch (error) {
    return settingsPage(c, problemFlash(c.var.page.t, error), (error as { status: number }).status)
  }
})

/** The tenant's export as a download (GET /api/v1/export's service); never a page on this origin. */
settingsPages.get('/console/export', consoleSession('tenant', { permission: 'export' }), async (c) => {
  const query = ExportQuerySchema.safeParse(c.req.query())
  if (!query.success) throw invalidFormProblem(query.error)
  const cursor = query.data.cursor
  const stream = await startExport(c.env, database(c.env), c.var.principal.tenantId!, actorOf(c as never), requestMeta(c), cursor)
  return c.body(stream, 200, { ...exportHeaders(), 'Content-Security-Policy': 'sandbox', 'X-Content-Type-Options': 'nosniff' })
})
