/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import { rotateMasterKey, type RotationResult } from '../../../services/keys/rotation'
import { Flash, PostForm, type FlashMessage } from '../../../views/components'
import { Layout } from '../../../views/layout'
import { actorOf, requestMeta } from '../../context'
import { consoleSession, html, problemFlash, type ConsoleContext, type ConsoleEnv } from '../kit/page'

const signedIn = consoleSession('ops')

/**
 * Master-key rotation (DM-4), the service behind POST /ops/v1/keys/rotate:
 * each press re-wraps one batch of data keys under the current MASTER_KEY
 * and says what is left, until nothing is and MASTER_KEY_PREVIOUS can go.
 * No key material is shown, only counts.
 */
function keysPage(c: ConsoleContext, extra: { flash?: FlashMessage | null; result?: RotationResult } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const result = extra.result
  return html(
    c,
    <Layout page={page} title={t('ops.keys.title')}>
      <Flash flash={extra.flash} />
      <p class="hint">{t('ops.keys.hint')}</p>
      {result ? (
        <dl class="facts" data-testid="rotation-result">
          <dt>{t('ops.keys.rewrapped')}</dt>
          <dd>{result.rewrapped}</dd>
          <dt>{t('ops.keys.reencrypted')}</dt>
          <dd>{result.reencrypted}</dd>
          <dt>{t('ops.keys.remaining')}</dt>
          <dd>{result.remaining}</dd>
        </dl>
      ) : null}
      {result && result.remaining === 0 ? <p>{t('ops.keys.done')}</p> : null}
      <PostForm action="/ops/console/keys/rotate" csrf={page.viewer!.csrf} class="stack">
        <div>
          <button type="submit">{result && result.remaining > 0 ? t('ops.keys.next') : t('ops.keys.rotate')}</button>
        </div>
      </PostForm>
    </Layout>,
    status,
  )
}

export const keyPages = new Hono<ConsoleEnv>({ strict: true })

keyPages.get('/ops/console/keys', signedIn, (c) => keysPage(c))

keyPages.post('/ops/console/keys/rotate', signedIn, async (c) => {
  try {
    const result = await rotateMasterKey(c.env, database(c.env), actorOf(c as never), requestMeta(c))
    return keysPage(c, { result, flash: { kind: 'ok', text: c.var.page.t('ops.keys.rotated') } })
  } catch (error) {
    return keysPage(c, { flash: problemFlash(c.var.page.t, error) }, (error as { status: number }).status)
  }
})
