/** @jsxImportSource hono/jsx */
import { Hono } from 'hono'
import { database } from '../../../db/client'
import { WindowCreateSchema, type MaintenanceWindow } from '../../../schemas/operations'
import { cancelWindow, listWindows, scheduleWindow } from '../../../services/operations/windows'
import type { Interval } from '../../../services/operations/calendar'
import { Checkbox, Field, Flash, Pager, PostForm, Select, Table, TextArea, Time, type FlashMessage } from '../../../views/components'
import { Layout, type PageContext } from '../../../views/layout'
import { actorOf, defer, requestMeta } from '../../context'
import { jstLocalToIso } from '../kit/jst'
import { consoleSession, html, problemFlash, text, type ConsoleContext, type ConsoleEnv } from '../kit/page'
import { invalidFormProblem } from '../kit/validate'

const PAGE_SIZE = 50
const signedIn = consoleSession('ops')

type Values = { kind?: string; starts_at?: string; duration_minutes?: string; emergency?: boolean; reason?: string; message?: string }

function ScheduleForm({ page, values }: { page: PageContext; values?: Values }) {
  const { t } = page
  return (
    <section aria-labelledby="schedule">
      <h2 id="schedule">{t('ops.windows.schedule')}</h2>
      <PostForm action="/ops/console/windows" csrf={page.viewer!.csrf} class="stack">
        <Select
          label={t('ops.windows.kind')}
          name="kind"
          value={values?.kind ?? 'maintenance'}
          idPrefix="new"
          options={[
            { value: 'maintenance', label: t('ops.windows.kind.maintenance') },
            { value: 'outage', label: t('ops.windows.kind.outage') },
          ]}
        />
        <Field label={t('ops.windows.startsAt')} name="starts_at" type="datetime-local" required value={values?.starts_at} idPrefix="new" hint={t('ops.windows.leadHint')} />
        <Field label={t('ops.windows.duration')} name="duration_minutes" type="number" min={1} max={300} required value={values?.duration_minutes ?? '60'} idPrefix="new" hint={t('ops.windows.durationHint')} />
        <Checkbox label={t('ops.windows.emergency')} name="emergency" value="true" checked={values?.emergency} idPrefix="new" />
        <TextArea label={t('ops.windows.reason')} name="reason" value={values?.reason} rows={2} idPrefix="new" hint={t('ops.windows.reasonHint')} />
        <TextArea label={t('ops.windows.message')} name="message" value={values?.message} rows={2} idPrefix="new" hint={t('ops.windows.messageHint')} />
        <div>
          <button type="submit">{t('ops.windows.schedule')}</button>
        </div>
      </PostForm>
    </section>
  )
}

async function listPage(c: ConsoleContext, extra: { flash?: FlashMessage | null; values?: Values } = {}, status = 200) {
  const page = c.var.page
  const { t } = page
  const cursor = c.req.query('cursor')
  const list = await listWindows(database(c.env), { limit: PAGE_SIZE, cursor })
  const open = list.items.filter((w) => w.state === 'scheduled' || w.state === 'active')
  const past = list.items.filter((w) => w.state !== 'scheduled' && w.state !== 'active')
  const rule = list.standing_rule
  const columns = (withCancel: boolean) => [
    { label: t('ops.windows.startsAt'), cell: (w: MaintenanceWindow) => <Time iso={w.starts_at} />, nowrap: true },
    { label: t('ops.windows.endsAt'), cell: (w: MaintenanceWindow) => <Time iso={w.ends_at} />, nowrap: true },
    { label: t('ops.windows.kind'), cell: (w: MaintenanceWindow) => t(`ops.windows.kind.${w.kind}`), nowrap: true },
    { label: t('ops.windows.state'), cell: (w: MaintenanceWindow) => t(`ops.windows.state.${w.state}`), nowrap: true },
    { label: t('ops.windows.emergency'), cell: (w: MaintenanceWindow) => (w.emergency ? `${t('common.yes')}: ${w.reason ?? ''}` : t('common.no')) },
    { label: t('ops.windows.scope'), cell: (w: MaintenanceWindow) => (w.tenant_ids ? w.tenant_ids.length : t('ops.windows.allTenants')), nowrap: true },
    { label: t('ops.windows.message'), cell: (w: MaintenanceWindow) => w.message ?? '–' },
    ...(withCancel
      ? [
          {
            label: t('common.actions'),
            cell: (w: MaintenanceWindow) =>
              w.state === 'scheduled' ? (
                <PostForm action={`/ops/console/windows/${w.id}/cancel`} csrf={page.viewer!.csrf} class="inline">
                  <button type="submit" class="secondary" aria-label={`${t('ops.windows.cancel')} ${w.id}`}>
                    {t('ops.windows.cancel')}
                  </button>
                </PostForm>
              ) : (
                '–'
              ),
          },
        ]
      : []),
  ]
  return html(
    c,
    <Layout page={page} title={t('ops.windows.title')}>
      <Flash flash={extra.flash} />
      <section aria-labelledby="standing">
        <h2 id="standing">{t('ops.windows.standing')}</h2>
        <p>{t('ops.windows.rule', { week: rule.week_of_month, weekday: t(`weekday.${rule.weekday}`), time: rule.start_time_jst, minutes: rule.duration_minutes })}</p>
        <Table<Interval>
          caption={t('ops.windows.standingNext')}
          empty={t('common.none')}
          rows={list.standing_windows}
          columns={[
            { label: t('ops.windows.startsAt'), cell: (w) => <Time iso={w.starts_at} />, nowrap: true },
            { label: t('ops.windows.endsAt'), cell: (w) => <Time iso={w.ends_at} />, nowrap: true },
          ]}
        />
      </section>
      <section aria-labelledby="upcoming">
        <h2 id="upcoming">{t('ops.windows.upcoming')}</h2>
        <Table<MaintenanceWindow> caption={t('ops.windows.upcoming')} empty={t('common.none')} rows={open} columns={columns(true)} />
      </section>
      <ScheduleForm page={page} values={extra.values} />
      <section aria-labelledby="past">
        <h2 id="past">{t('ops.windows.past')}</h2>
        <Table<MaintenanceWindow> caption={t('ops.windows.past')} empty={t('common.none')} rows={past} columns={columns(false)} />
      </section>
      <Pager t={t} base="/ops/console/windows" params={new URLSearchParams(cursor ? { cursor } : {})} next={list.next_cursor} hasCursor={!!cursor} />
    </Layout>,
    status,
  )
}

export const windowPages = new Hono<ConsoleEnv>({ strict: true })

windowPages.get('/ops/console/windows', signedIn, (c) => {
  const done = c.req.query('done')
  const flash = done === 'cancelled' ? ({ kind: 'ok', text: c.var.page.t('ops.windows.cancelled') } as const) : done === 'scheduled' ? ({ kind: 'ok', text: c.var.page.t('ops.windows.scheduled') } as const) : null
  return listPage(c, { flash })
})

windowPages.post('/ops/console/windows', signedIn, async (c) => {
  const form = c.var.form
  const values: Values = {
    kind: text(form, 'kind'),
    starts_at: text(form, 'starts_at'),
    duration_minutes: text(form, 'duration_minutes').trim(),
    emergency: text(form, 'emergency') === 'true',
    reason: text(form, 'reason').trim(),
    message: text(form, 'message').trim(),
  }
  const input = {
    kind: values.kind,
    starts_at: jstLocalToIso(values.starts_at!),
    duration_minutes: values.duration_minutes === '' ? undefined : Number(values.duration_minutes),
    ...(values.emergency ? { emergency: true } : {}),
    ...(values.reason ? { reason: values.reason } : {}),
    ...(values.message ? { message: values.message } : {}),
  }
  try {
    const parsed = WindowCreateSchema.safeParse(input)
    if (!parsed.success) throw invalidFormProblem(parsed.error)
    await scheduleWindow(c.env, database(c.env), parsed.data, actorOf(c as never), requestMeta(c), defer(c as never))
    return c.redirect('/ops/console/windows?done=scheduled', 303)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error), values }, (error as { status: number }).status)
  }
})

windowPages.post('/ops/console/windows/:id/cancel', signedIn, async (c) => {
  try {
    await cancelWindow(c.env, database(c.env), c.req.param('id'), actorOf(c as never), requestMeta(c), defer(c as never))
    return c.redirect('/ops/console/windows?done=cancelled', 303)
  } catch (error) {
    return listPage(c, { flash: problemFlash(c.var.page.t, error) }, (error as { status: number }).status)
  }
})
