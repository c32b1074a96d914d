/**
 * D1 tables. The SQL in /migrations is generated from this file with
 * `npm run db:generate` and is the only way the schema changes.
 * Every tenant-owned table carries `tenant_id` and every query filters on it.
 */
import { sql } from 'drizzle-orm'
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

export const plans = sqliteTable('plans', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  seats: integer('seats').notNull(),
  concurrentSessions: integer('concurrent_sessions').notNull(),
  storageBytes: integer('storage_bytes').notNull(),
  requestsPerMinute: integer('requests_per_minute').notNull(),
  requestsPerMonth: integer('requests_per_month').notNull(),
})

export const tenants = sqliteTable('tenants', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  planId: text('plan_id')
    .notNull()
    .references(() => plans.id),
  status: text('status', { enum: ['active', 'suspended'] }).notNull(),
  contactEmail: text('contact_email').notNull(),
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
})

export const users = sqliteTable(
  'users',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** Normalised: trimmed, NFC, lower-case. Unique per tenant. */
    email: text('email').notNull(),
    name: text('name').notNull(),
    role: text('role', { enum: ['admin', 'member'] }).notNull(),
    status: text('status', { enum: ['active', 'disabled'] }).notNull(),
    /** JSON array of permission names granted to this account. */
    permissions: text('permissions', { mode: 'json' }).$type<string[]>().notNull(),
    passwordHash: text('password_hash').notNull(),
    passwordChangedAt: text('password_changed_at').notNull(),
    /** Set for system-generated temporary passwords: sign-in must change it first. */
    mustChangePassword: integer('must_change_password', { mode: 'boolean' }).notNull(),
    createdAt: text('created_at').notNull(),
    /** `operator:<id>` or `user:<id>`: who created the account. */
    createdBy: text('created_by').notNull(),
    updatedAt: text('updated_at').notNull(),
    lastLoginAt: text('last_login_at'),
  },
  (t) => [uniqueIndex('users_tenant_email').on(t.tenantId, t.email)],
)

export const operators = sqliteTable('operators', {
  id: text('id').primaryKey(),
  email: text('email').notNull().unique(),
  name: text('name').notNull(),
  passwordHash: text('password_hash').notNull(),
  passwordChangedAt: text('password_changed_at').notNull(),
  createdAt: text('created_at').notNull(),
  lastLoginAt: text('last_login_at'),
})

export const records = sqliteTable(
  'records',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    collection: text('collection').notNull(),
    /** The record's JSON object, serialised. */
    data: text('data').notNull(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    createdBy: text('created_by').notNull(),
    updatedBy: text('updated_by').notNull(),
  },
  (t) => [
    index('records_tenant_id').on(t.tenantId, t.id),
    index('records_tenant_collection').on(t.tenantId, t.collection, t.id),
  ],
)

/**
 * Append-only, hash-chained audit trail. `chain` is the tenant id, or
 * `platform` for operator events that belong to no tenant. Within a chain,
 * `seq` is gapless and `prev_hash` is the `hash` of event `seq - 1`.
 */
export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: text('id').primaryKey(),
    chain: text('chain').notNull(),
    seq: integer('seq').notNull(),
    tenantId: text('tenant_id'),
    at: text('at').notNull(),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    action: text('action').notNull(),
    category: text('category').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    requestId: text('request_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    outcome: text('outcome').notNull(),
    details: text('details').notNull().default(sql`'{}'`),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    uniqueIndex('audit_chain_seq').on(t.chain, t.seq),
    index('audit_tenant_id').on(t.tenantId, t.id),
    index('audit_tenant_request').on(t.tenantId, t.requestId),
    index('audit_tenant_actor').on(t.tenantId, t.actorId),
    index('audit_tenant_target').on(t.tenantId, t.targetId),
    index('audit_tenant_action').on(t.tenantId, t.action),
    index('audit_request').on(t.requestId),
  ],
)
