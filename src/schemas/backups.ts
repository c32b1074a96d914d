import { z } from '@hono/zod-openapi'
import { ListQuerySchema, SlugSchema, paginated } from './common'

export const TenantIdSchema = z.string().regex(/^tn_[0-9a-hjkmnp-tv-z]{26}$/, 'A tenant id.').openapi({ example: 'tn_01jd0000000000000000000000' })

/** One generation of a tenant's encrypted snapshot, as the catalogue records it (no tenant data). */
export const BackupSchema = z
  .object({
    id: z.string(),
    tenant_id: z.string(),
    jst_date: z.string().openapi({ example: '2026-12-01', description: 'The day in Japan time the generation belongs to.' }),
    kind: z.enum(['daily', 'safety']).openapi({ description: '`safety`: taken just before an in-place restore.' }),
    status: z.enum(['running', 'complete', 'failed']),
    key_id: z.string().nullable().openapi({ description: 'The ID of the tenant key the objects are sealed under.' }),
    format_version: z.number().int(),
    schema_version: z.string().nullable().openapi({ description: 'The newest migration applied when the snapshot was taken.' }),
    row_counts: z.record(z.string(), z.number().int()).nullable(),
    plaintext_bytes: z.number().int().nullable(),
    ciphertext_bytes: z.number().int().nullable(),
    plaintext_sha256: z.string().nullable(),
    ciphertext_sha256: z.string().nullable(),
    blob_count: z.number().int().nullable().openapi({ description: 'Distinct file contents the generation refers to.' }),
    verified_at: z.string().nullable(),
    verify_result: z.string().nullable().openapi({ description: '`ok`, or why the last verification failed.' }),
    error: z.string().nullable(),
    created_at: z.string(),
    completed_at: z.string().nullable(),
  })
  .openapi('Backup')

export const BackupPageSchema = paginated(BackupSchema, 'BackupPage')

export const TenantBackupSchema = BackupSchema.omit({ error: true }).openapi('TenantBackup')
export const TenantBackupPageSchema = paginated(TenantBackupSchema, 'TenantBackupPage')

export const BackupListQuerySchema = ListQuerySchema.extend({ tenant_id: TenantIdSchema.optional() })

export const BackupStartSchema = z
  .strictObject({ tenant_id: TenantIdSchema.optional().openapi({ description: 'One tenant now; absent: every active tenant.' }) })
  .openapi('BackupStart')

export const BackupStartedSchema = z
  .object({
    jst_date: z.string(),
    tenants: z.number().int(),
    started: z.number().int().openapi({ description: 'Snapshot workflow instances created now.' }),
    already_started: z.number().int().openapi({ description: 'Tenants whose instance for this date existed already (nothing new is written).' }),
    instance_ids: z.array(z.string()).openapi({ description: 'The instance of the one tenant asked for; empty for all tenants.' }),
  })
  .openapi('BackupStarted')

export const BackupVerificationSchema = BackupSchema.extend({ ok: z.boolean() }).openapi('BackupVerification')

export const BackupRestoreSchema = z
  .strictObject({
    target_slug: SlugSchema.optional().openapi({ description: 'Restore into a new tenant with this slug (the disaster-recovery drill); absent: in place.' }),
  })
  .openapi('BackupRestore')

export const BackupRestoredSchema = z
  .object({
    backup_id: z.string(),
    mode: z.enum(['in_place', 'new_tenant']),
    tenant_id: z.string(),
    slug: z.string(),
    safety_backup_id: z.string().nullable().openapi({ description: 'In place: the snapshot of the state the restore replaced.' }),
    rows: z.record(z.string(), z.number().int()),
    files: z.number().int(),
  })
  .openapi('BackupRestored')
