/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../db/client'
import { grantSupportAccess, revokeSupportAccess, supportAccess, SUPPORT_MAX_HOURS } from '../../services/tenancy/support'
import { Field, Flash, PostForm, Time, type FlashMessage } from '../../views/components'
import { Layout } from '../../views/layout'
import { SupportGrantSchema } from '../support/support.routes'
import { actorOf, requestMeta } from '../context'
import { consoleSession, html, problemFlash, text, type ConsoleContext, type ConsoleEnv } from './kit/page'
import { invalidFormProblem } from './kit/validate'

const admin = consoleSession('tenant', { admin: true })

async function supportPage(c: ConsoleContext, flash: FlashMessage | null = null, status = 200) {
  const page = c.var.page
  const { t } = page
  const csrf = page.viewer!.csrf
  const access = await supportAccess(database(c.env), c.var.principal.tenantId!)
  return html(
    c,
    <Layout page={page} title={t('support.title')}>
      <Flash flash={flash} />
      <p>{t('support.intro')}</p>
      {access.granted ? (
        <>
          <p data-testid="support-status">
            {t('support.grantedUntil')} <Time iso={access.expires_at} /> ({t('support.grantedAt')} <Time iso={access.granted_at} />)
          </p>
          <PostForm action="/console/support/revoke" csrf={csrf} class="inline">
            <button type="submit" class="danger">
              {t('support.revoke')}
            </button>
          </PostForm>
        </>
      ) : (
        <p data-testid="support-status">{t('support.notGranted')}</p>
      )}
      <h2>{access.granted ? t('support.extend') : t('support.grant')}</h2>
      <PostForm action="/console/support" csrf={csrf} class="stack">
        <Field label={t('support.hours')} name="hours" type="number" min={1} max={SUPPORT_MAX_HOURS} required value="4" hint={t('support.hoursHint', { max: SUPPORT_MAX_HOURS })} />
        <div>
          <button type="submit">{t('support.grant')}</button>
        </div>
      </PostForm>
      <p>
        <a href={`/console/audit?${new URLSearchParams({ action: 'support.read' })}`}>{t('support.auditLink')}</a>
      </p>
    </Layout>,
    status,
  )
}

export const supportPages = new Hono<ConsoleEnv>({ strict: true })

supportPages.get('/console/support', admin, (c) => {
  const done = c.req.query('done')
  const flash = done === 'granted' || done === 'revoked' ? ({ kind: 'ok', text: c.var.page.t(`support.${done}`) } as const) : null
  return supportPage(c, flash)
})

supportPages.post('/console/support', admin, async (c) => {
  try {
    const hours = text(c.var.form, 'hours').trim()
    const parsed = SupportGrantSchema.safeParse({ hours: hours === '' ? undefined : Number(hours) })
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await grantSupportAccess(c.env, database(c.env), c.var.principal.tenantId!, parsed.data.hours, actorOf(c as never), requestMeta(c))
    return c.redirect('/console/support?done=granted', 303)
  } catch (error) {
    return supportPage(c, problemFlash(c.var.page.t, error), (error as { status: number }).status)
  }
})

supportPages.post('/console/support/revoke', admin, async (c) => {
  await revokeSupportAccess(c.env, database(c.env), c.var.principal.tenantId!, actorOf(c as never), requestMeta(c))
  return c.redirect('/console/support?done=revoked', 303)
})
