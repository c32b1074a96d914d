/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx'
import { Table } from './components'
import { Time } from './components'
import type { PageContext } from './layout'

/** A generation as both consoles show it (the tenant's view has no `error`). */
export type BackupRowView = {
  id: string
  tenant_id: string
  jst_date: string
  kind: 'daily' | 'safety'
  status: 'running' | 'complete' | 'failed'
  completed_at: string | null
  verified_at: string | null
  verify_result: string | null
  ciphertext_bytes: number | null
  error?: string | null
}

export function VerifyResult({ page, backup }: { page: PageContext; backup: Pick<BackupRowView, 'verify_result'> }) {
  const { t } = page
  if (backup.verify_result === null) return <span class="status not_yet_measured">{t('ops.backups.notVerified')}</span>
  if (backup.verify_result === 'ok') return <span class="status met">{t('ops.backups.verifyOk')}</span>
  return <span class="status not_met">{backup.verify_result}</span>
}

/** The generations table; `extra` adds the operator's columns (tenant, error, actions). */
export function BackupTable<T extends BackupRowView>({ page, rows, extra = [] }: { page: PageContext; rows: T[]; extra?: { label: string; cell: (b: T) => Child; nowrap?: boolean }[] }) {
  const { t } = page
  return (
    <Table<T>
      caption={t('ops.backups.title')}
      empty={t('common.none')}
      rows={rows}
      columns={[
        { label: t('ops.backups.date'), cell: (b) => b.jst_date, nowrap: true },
        { label: t('ops.backups.kind'), cell: (b) => t(`ops.backups.kind.${b.kind}`), nowrap: true },
        { label: t('ops.backups.status'), cell: (b) => t(`ops.backups.status.${b.status}`), nowrap: true },
        { label: t('ops.backups.completedAt'), cell: (b) => <Time iso={b.completed_at} />, nowrap: true },
        { label: t('ops.backups.verifyResult'), cell: (b) => <VerifyResult page={page} backup={b} /> },
        { label: t('ops.backups.verifiedAt'), cell: (b) => <Time iso={b.verified_at} />, nowrap: true },
        { label: t('ops.backups.id'), cell: (b) => <span class="mono">{b.id}</span> },
        ...extra,
      ]}
    />
  )
}
