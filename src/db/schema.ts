/**
 * D1 tables. The SQL in /migrations is generated from this file with
 * `npm run db:generate` and is the only way the schema changes.
 * Every tenant-owned table carries `tenant_id` and every query filters on it.
 */
import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import type { NoticeMessage } from '../i18n/mail/params'

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
  /** Bytes of files stored, kept exact by the same transactions that add and remove files (EX-4). */
  storageUsedBytes: integer('storage_used_bytes').notNull().default(0),
  /**
   * Per-contract limits set by an operator; null: the plan's. The limit in
   * force is `COALESCE(tenants.limit_x, plans.x)` (services/tenancy/limits.ts).
   */
  limitSeats: integer('limit_seats'),
  limitConcurrentSessions: integer('limit_concurrent_sessions'),
  limitStorageBytes: integer('limit_storage_bytes'),
  limitRequestsPerMinute: integer('limit_requests_per_minute'),
  limitRequestsPerMonth: integer('limit_requests_per_month'),
  /** The language of mail to the tenant's contact, and of its accounts that follow the tenant (src/i18n). */
  language: text('language', { enum: ['ja', 'en'] }).notNull().default('ja'),
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
})

/**
 * Requests served per tenant and calendar month (JST), one row per session
 * store shard: each shard's SessionStore counts its own requests and writes
 * its running total here from its alarm (at most about once a minute), so
 * the count is durable and readable by SQL without a D1 write per request.
 * A tenant's month is the sum over its shards. `requests` only grows.
 */
export const tenantUsage = sqliteTable(
  'tenant_usage',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** `YYYY-MM`, in Japan time (UTC+9): the month contracts and invoices use. */
    month: text('month').notNull(),
    shard: integer('shard').notNull(),
    requests: integer('requests').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.month, t.shard] })],
)

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
    /**
     * Set when an operator reset the password: the next sign-in must also
     * answer a code mailed to the account's own address, so the operator who
     * saw the temporary password cannot use it (SE-26).
     */
    verifyEmailAtSignIn: integer('verify_email_at_sign_in', { mode: 'boolean' }).notNull().default(false),
    createdAt: text('created_at').notNull(),
    /** `operator:<id>` or `user:<id>`: who created the account. */
    createdBy: text('created_by').notNull(),
    updatedAt: text('updated_at').notNull(),
    lastLoginAt: text('last_login_at'),
    /** The language of this account's mail; null follows the tenant's. */
    language: text('language', { enum: ['ja', 'en'] }),
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
  /** A disabled operator cannot sign in, and their sessions end (SE-14). */
  status: text('status', { enum: ['active', 'disabled'] }).notNull().default('active'),
  /** Set for an invited operator's temporary password: the first sign-in must change it. */
  mustChangePassword: integer('must_change_password', { mode: 'boolean' }).notNull().default(false),
  /** `operator:<id>` of the inviting operator; null for the bootstrapped first one. */
  createdBy: text('created_by'),
  /** The language of this operator's mail; null is the platform default (Japanese). */
  language: text('language', { enum: ['ja', 'en'] }),
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
    /** The service's own ID of the request; request_id may be the caller's X-Request-Id. */
    serviceRequestId: text('service_request_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    outcome: text('outcome').notNull(),
    details: text('details').notNull().default(sql`'{}'`),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    /**
     * `sha256` (unkeyed, events from before the chain was keyed) or
     * `hmac-sha256` (keyed with a MASTER_KEY-derived key D1 does not hold).
     * Informational: the chain's sequencer keeps the seq it switched at.
     */
    hashAlg: text('hash_alg').notNull().default('sha256'),
  },
  (t) => [
    uniqueIndex('audit_chain_seq').on(t.chain, t.seq),
    index('audit_tenant_id').on(t.tenantId, t.id),
    index('audit_tenant_request').on(t.tenantId, t.requestId),
    index('audit_tenant_actor').on(t.tenantId, t.actorId),
    index('audit_tenant_target').on(t.tenantId, t.targetId),
    index('audit_tenant_action').on(t.tenantId, t.action),
    index('audit_request').on(t.requestId),
    index('audit_tenant_service_request').on(t.tenantId, t.serviceRequestId),
    index('audit_service_request').on(t.serviceRequestId),
  ],
)

/**
 * A tenant's own security policy (EX-1): only ever stricter than the
 * platform minimums. No row means the platform defaults.
 */
export const tenantPolicies = sqliteTable('tenant_policies', {
  tenantId: text('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  /** The whole policy as validated JSON (schemas/policy.ts); read and written as one value. */
  policy: text('policy', { mode: 'json' }).notNull(),
  updatedAt: text('updated_at').notNull(),
  updatedBy: text('updated_by').notNull(),
})

/**
 * Data keys (DM-4, DM-5): one random 256-bit key per tenant (`tenant_id`;
 * NULL for the operators' platform key), stored only wrapped (AES-256-GCM)
 * under the master key named by `master_key_id`, bound to its owner, id and
 * purpose. Every ciphertext names its `key_id`. `purpose` is `data`, or
 * `root` for the platform's MAC root (key id `platform-root`). Destroying a
 * tenant's keys blanks `wrapped` and stamps `destroyed_at`: nothing it
 * sealed can be opened again, and the row says why.
 */
export const tenantKeys = sqliteTable(
  'tenant_keys',
  {
    keyId: text('key_id').primaryKey(),
    tenantId: text('tenant_id'),
    purpose: text('purpose', { enum: ['data', 'root'] }).notNull(),
    wrapped: text('wrapped'),
    masterKeyId: text('master_key_id').notNull(),
    createdAt: text('created_at').notNull(),
    destroyedAt: text('destroyed_at'),
  },
  (t) => [index('tenant_keys_tenant').on(t.tenantId, t.createdAt), index('tenant_keys_master').on(t.masterKeyId)],
)

/**
 * Second factors of tenant users and operators. `account_id` is a user or
 * operator id (their prefixes differ). A TOTP secret is stored only
 * encrypted (AES-256-GCM); e-mail factors have none.
 */
export const mfaFactors = sqliteTable(
  'mfa_factors',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    accountId: text('account_id').notNull(),
    kind: text('kind', { enum: ['email', 'totp'] }).notNull(),
    status: text('status', { enum: ['pending', 'active'] }).notNull(),
    secret: text('secret'),
    /** Highest TOTP time step accepted so far: a code is never accepted twice. */
    lastUsedStep: integer('last_used_step').notNull().default(0),
    createdAt: text('created_at').notNull(),
    confirmedAt: text('confirmed_at'),
  },
  (t) => [uniqueIndex('mfa_factors_account_kind_status').on(t.accountId, t.kind, t.status)],
)

/** One-time recovery codes, stored only as HMACs: `v2.<key id>.<mac>` under the tenant's key (legacy: unprefixed, under a platform key). */
export const recoveryCodes = sqliteTable(
  'recovery_codes',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    accountId: text('account_id').notNull(),
    codeHash: text('code_hash').notNull(),
    createdAt: text('created_at').notNull(),
    usedAt: text('used_at'),
  },
  (t) => [index('recovery_codes_account').on(t.accountId)],
)

/**
 * A sign-in that passed the password and waits for its second factor, or
 * (`step_up`) a code mailed to confirm a change to the account's own
 * factors. The challenge token and the e-mailed code are stored only as
 * hashes. Expired rows are swept by the five-minute job.
 */
export const mfaChallenges = sqliteTable(
  'mfa_challenges',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    accountId: text('account_id').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    /** HMAC of the e-mailed code; null when no code was sent. */
    codeMac: text('code_mac'),
    methods: text('methods', { mode: 'json' }).$type<string[]>().notNull(),
    /**
     * `enroll`: no factor yet; a correct e-mailed code enrols e-mail OTP.
     * `step_up`: no sign-in; its token is never handed out.
     * `password_reset`: a self-service reset code; its token is never handed out either.
     */
    purpose: text('purpose', { enum: ['login', 'enroll', 'step_up', 'password_reset'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    expiresAt: text('expires_at').notNull(),
    consumedAt: text('consumed_at'),
    createdAt: text('created_at').notNull(),
  },
  (t) => [index('mfa_challenges_expires_at').on(t.expiresAt), index('mfa_challenges_account').on(t.accountId)],
)

/**
 * Outgoing mail. Services queue rows in the same transaction as the change
 * that causes them; a transport delivers them (at once, and retried by the
 * five-minute cron). `dedupe_key` makes reminders go out once.
 */
export const mailOutbox = sqliteTable(
  'mail_outbox',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    toAddress: text('to_address').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    dedupeKey: text('dedupe_key').unique(),
    /** Holds a secret (a one-time code): subject and body are blanked once delivered in production. */
    sensitive: integer('sensitive', { mode: 'boolean' }).notNull().default(false),
    status: text('status', { enum: ['queued', 'sent', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    createdAt: text('created_at').notNull(),
    sentAt: text('sent_at'),
    lastError: text('last_error'),
  },
  (t) => [index('mail_outbox_status').on(t.status, t.createdAt)],
)

/**
 * The operators' alert webhook outbox (SE-28): alerts are queued in the same
 * transaction as the audit event that records them, and delivered (at once,
 * and retried with backoff by the five-minute cron) until the receiver
 * answers 2xx or the attempts run out. `next_attempt_at` is when a queued
 * alert is due; a delivery in flight pushes it forward first, so an attempt
 * that dies midway is retried rather than lost.
 */
export const alertOutbox = sqliteTable(
  'alert_outbox',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    /** The JSON body the receiver gets, exactly as signed. */
    payload: text('payload').notNull(),
    status: text('status', { enum: ['queued', 'sent', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: text('next_attempt_at').notNull(),
    lastError: text('last_error'),
    createdAt: text('created_at').notNull(),
    sentAt: text('sent_at'),
  },
  (t) => [index('alert_outbox_due').on(t.status, t.nextAttemptAt)],
)

/**
 * Counters of the intrusion detectors (SE-28): how often one key (an actor's
 * downloads, a session's permission failures, a tenant's refused sources)
 * was seen in one fixed window, and whether that window's alert has fired,
 * so an alert goes out once per key and window, however long the burst.
 */
export const alertCounters = sqliteTable(
  'alert_counters',
  {
    key: text('key').notNull(),
    windowStart: text('window_start').notNull(),
    tenantId: text('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    count: integer('count').notNull().default(0),
    fired: integer('fired', { mode: 'boolean' }).notNull().default(false),
    /** When the window ended: the sweep removes counters past it. */
    windowEnd: text('window_end').notNull(),
  },
  (t) => [uniqueIndex('alert_counters_key_window').on(t.key, t.windowStart), index('alert_counters_window_end').on(t.windowEnd)],
)

/**
 * The networks (IPv4 /24, IPv6 /48) each account has signed in from, so a
 * sign-in from a network never seen for it raises an alert (SE-28). Bounded
 * per account: the least recently seen network gives way.
 */
export const accountNetworks = sqliteTable(
  'account_networks',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    accountId: text('account_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    network: text('network').notNull(),
    firstSeenAt: text('first_seen_at').notNull(),
    lastSeenAt: text('last_seen_at').notNull(),
  },
  (t) => [uniqueIndex('account_networks_account_network').on(t.accountId, t.network)],
)

/** Earlier password hashes of an account, for the no-reuse rule. */
export const passwordHistory = sqliteTable(
  'password_history',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    accountId: text('account_id').notNull(),
    passwordHash: text('password_hash').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [index('password_history_account').on(t.accountId, t.createdAt)],
)

/** Client-certificate fingerprints (SHA-256, lower-case hex) bound to an account (SE-41). */
export const accountCertificates = sqliteTable(
  'account_certificates',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    fingerprint: text('fingerprint').notNull(),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [uniqueIndex('account_certificates_user_fp').on(t.userId, t.fingerprint)],
)

/** Uploaded files: metadata here, bytes in R2 under `tenants/<tenant id>/files/<file id>`. */
export const files = sqliteTable(
  'files',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    contentType: text('content_type').notNull(),
    sizeBytes: integer('size_bytes').notNull(),
    sha256: text('sha256').notNull(),
    createdAt: text('created_at').notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [uniqueIndex('files_tenant_name').on(t.tenantId, t.name), index('files_tenant_id').on(t.tenantId, t.id)],
)

/**
 * A tenant admin's time-limited permission for operators to read the
 * tenant's data (SE-26). At most one per tenant; it ends by itself.
 */
export const supportGrants = sqliteTable('support_grants', {
  tenantId: text('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  grantedBy: text('granted_by').notNull(),
  grantedAt: text('granted_at').notNull(),
  expiresAt: text('expires_at').notNull(),
})

/**
 * Platform-wide settings an operator changes at run time, one JSON value per
 * key (`standing_window`: the rule of the monthly maintenance window;
 * `self_check_state`: the self-check's consecutive failures, mirrored in R2).
 */
export const platformSettings = sqliteTable('platform_settings', {
  key: text('key').primaryKey(),
  value: text('value', { mode: 'json' }).notNull(),
  updatedAt: text('updated_at').notNull(),
  /** `operator:<id>` or `system:<job>`. */
  updatedBy: text('updated_by').notNull(),
})

/**
 * Scheduled maintenance windows and planned outages (AV-1, AV-2, AV-10).
 * `state` is advanced by the five-minute job (scheduled → active → ended) or
 * by an operator (cancelled, or ended early). `tenant_ids` is null for a
 * window over every tenant; otherwise the same list is in
 * maintenance_window_tenants, which the scoping queries use.
 */
export const maintenanceWindows = sqliteTable(
  'maintenance_windows',
  {
    id: text('id').primaryKey(),
    kind: text('kind', { enum: ['maintenance', 'outage'] }).notNull(),
    state: text('state', { enum: ['scheduled', 'active', 'ended', 'cancelled'] }).notNull(),
    startsAt: text('starts_at').notNull(),
    endsAt: text('ends_at').notNull(),
    durationMinutes: integer('duration_minutes').notNull(),
    /** Scheduled inside its lead time, with a reason: counts as unplanned downtime, not maintenance. */
    emergency: integer('emergency', { mode: 'boolean' }).notNull().default(false),
    reason: text('reason'),
    /** What tenants' users are shown while the window is in force. */
    message: text('message'),
    allTenants: integer('all_tenants', { mode: 'boolean' }).notNull(),
    tenantIds: text('tenant_ids', { mode: 'json' }).$type<string[] | null>(),
    /** Bumped by every change: notices and reminders are keyed by it. */
    revision: integer('revision').notNull().default(1),
    /** When tenants were last told the window's times (scheduled or changed). */
    notifiedAt: text('notified_at').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    startedAt: text('started_at'),
    endedAt: text('ended_at'),
    cancelledAt: text('cancelled_at'),
  },
  (t) => [index('maintenance_windows_state_start').on(t.state, t.startsAt), index('maintenance_windows_start').on(t.startsAt)],
)

export const maintenanceWindowTenants = sqliteTable(
  'maintenance_window_tenants',
  {
    windowId: text('window_id')
      .notNull()
      .references(() => maintenanceWindows.id, { onDelete: 'cascade' }),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
  },
  (t) => [uniqueIndex('maintenance_window_tenants_pk').on(t.windowId, t.tenantId), index('maintenance_window_tenants_tenant').on(t.tenantId)],
)

/**
 * A tenant's maintenance flag (one row per tenant that ever had one; never
 * deleted, so `version` only grows). Set by an operator (`window_id` null)
 * or by the five-minute job while a window of the tenant is in force. It
 * reaches requests through the tenant's session store (pushed, and pulled
 * once a minute) and through the sign-in's own tenant read. After `until`
 * it is off by itself.
 */
export const tenantMaintenance = sqliteTable('tenant_maintenance', {
  tenantId: text('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  enabled: integer('enabled', { mode: 'boolean' }).notNull(),
  message: text('message'),
  /** A window's start (the flag refuses from then); null: at once. */
  startsAt: text('starts_at'),
  until: text('until'),
  /** The window that set it; null: an operator did. */
  windowId: text('window_id'),
  /** Bumped by every write: a session store never takes an older flag over a newer one. */
  version: integer('version').notNull(),
  updatedAt: text('updated_at').notNull(),
  /** `operator:<id>` or `system:<job>`. */
  updatedBy: text('updated_by').notNull(),
})

/** Announcements to every tenant: end of service (AV-3), upgrades (AV-9), notices. */
export const announcements = sqliteTable('announcements', {
  id: text('id').primaryKey(),
  kind: text('kind', { enum: ['end_of_service', 'upgrade', 'notice'] }).notNull(),
  effectiveAt: text('effective_at').notNull(),
  subject: text('subject').notNull(),
  body: text('body').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: text('created_at').notNull(),
})

/**
 * Incidents (RE-1..7, SE-40): opened by an operator or by the self-check,
 * resolved once. Downtime and MTTR are computed from opened_at/resolved_at.
 */
export const incidents = sqliteTable(
  'incidents',
  {
    id: text('id').primaryKey(),
    title: text('title').notNull(),
    description: text('description').notNull(),
    severity: text('severity', { enum: ['minor', 'major', 'critical'] }).notNull(),
    status: text('status', { enum: ['investigating', 'resolved'] }).notNull(),
    source: text('source', { enum: ['operator', 'self-check'] }).notNull(),
    /** The failing dependency (`d1`, `r2`, `durable_objects`) of a self-check incident. */
    failedCheck: text('failed_check'),
    allTenants: integer('all_tenants', { mode: 'boolean' }).notNull(),
    tenantIds: text('tenant_ids', { mode: 'json' }).$type<string[] | null>(),
    openedAt: text('opened_at').notNull(),
    resolvedAt: text('resolved_at'),
    openedBy: text('opened_by').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (t) => [index('incidents_opened').on(t.openedAt), index('incidents_status').on(t.status, t.id)],
)

export const incidentTenants = sqliteTable(
  'incident_tenants',
  {
    incidentId: text('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
  },
  (t) => [uniqueIndex('incident_tenants_pk').on(t.incidentId, t.tenantId), index('incident_tenants_tenant').on(t.tenantId, t.incidentId)],
)

/** The timeline of an incident: its opening, each update, its resolution. */
export const incidentUpdates = sqliteTable(
  'incident_updates',
  {
    id: text('id').primaryKey(),
    incidentId: text('incident_id')
      .notNull()
      .references(() => incidents.id, { onDelete: 'cascade' }),
    at: text('at').notNull(),
    status: text('status', { enum: ['investigating', 'resolved'] }).notNull(),
    message: text('message').notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [index('incident_updates_incident').on(t.incidentId, t.id)],
)

/**
 * One notice to many tenants (a window scheduled, an incident update, an
 * announcement), fanned out in bounded chunks: each five-minute run queues
 * the mails of the next tenants after `cursor` (tenant ids in order) and
 * moves the cursor in the same transaction, so at 10,000 tenants a notice
 * takes a few runs and never one oversized invocation. `dedupe_key` makes
 * each notice exist once however often its cause is seen.
 */
export const noticeJobs = sqliteTable(
  'notice_jobs',
  {
    id: text('id').primaryKey(),
    dedupeKey: text('dedupe_key').notNull().unique(),
    /** Who gets it: every tenant, or the tenants of a window or an incident. */
    scope: text('scope', { enum: ['all', 'window', 'incident'] }).notNull(),
    scopeId: text('scope_id'),
    /** A reminder is dropped when its window changed or closed meanwhile. */
    purpose: text('purpose').notNull(),
    /**
     * What the notice says, as parameters: each recipient's mail is written
     * from it in their own language. `{}` only on rows from before the column.
     */
    message: text('message', { mode: 'json' }).$type<NoticeMessage>().notNull().default(sql`'{}'`),
    status: text('status', { enum: ['pending', 'done'] }).notNull(),
    /** The last tenant id whose mails are queued; null before the first chunk. */
    cursor: text('cursor'),
    tenantsNotified: integer('tenants_notified').notNull().default(0),
    mailsQueued: integer('mails_queued').notNull().default(0),
    createdAt: text('created_at').notNull(),
    finishedAt: text('finished_at'),
  },
  (t) => [index('notice_jobs_status').on(t.status, t.id)],
)

/**
 * A tenant's termination (DM-7, SE-37): a resumable job, and afterwards the
 * one thing kept about the tenant. `step` is where the job stands; `counts`
 * what each step erased so far (JSON); `lease_until` keeps two invocations
 * (the operator's DELETE and the five-minute cron) from running it at once.
 * No foreign key: the tenant row is erased under it. `slug` is needed while
 * the job runs (throttle names, the certificate) and cleared once the signed
 * certificate, which states it, exists.
 */
export const tenantErasures = sqliteTable(
  'tenant_erasures',
  {
    tenantId: text('tenant_id').primaryKey(),
    slug: text('slug'),
    step: text('step').notNull(),
    /** Where the current step stands (a table name, a last key), so it resumes there. */
    cursor: text('cursor'),
    counts: text('counts', { mode: 'json' }).notNull(),
    /** The tenant's audit chain head ({seq, hash}) read just before its trail was erased. */
    auditHead: text('audit_head', { mode: 'json' }),
    requestedBy: text('requested_by').notNull(),
    startedAt: text('started_at').notNull(),
    leaseUntil: text('lease_until'),
    finishedAt: text('finished_at'),
    /** The compact JWS (EdDSA) that states what was erased. */
    certificate: text('certificate'),
  },
  (t) => [index('tenant_erasures_unfinished').on(t.finishedAt, t.startedAt)],
)

/**
 * Encrypted snapshots of one tenant (DM-1, DM-3, DM-8): one row per
 * generation. The objects live in the BACKUPS bucket under
 * `tenants/<tenant id>/snapshots/<id>/`; the manifest is written last, so a
 * row that is not `complete` never has one. At most one `daily` generation
 * per tenant and JST date: the nightly run and an operator's run of the same
 * day are the same generation. `safety` snapshots precede an in-place restore.
 */
export const backups = sqliteTable(
  'backups',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    /** `YYYY-MM-DD` in Japan time. */
    jstDate: text('jst_date').notNull(),
    kind: text('kind', { enum: ['daily', 'safety'] }).notNull(),
    status: text('status', { enum: ['running', 'complete', 'failed'] }).notNull(),
    keyId: text('key_id'),
    formatVersion: integer('format_version').notNull(),
    schemaVersion: text('schema_version'),
    /** JSON object: rows per table. */
    rowCounts: text('row_counts', { mode: 'json' }).$type<Record<string, number>>(),
    plaintextBytes: integer('plaintext_bytes'),
    ciphertextBytes: integer('ciphertext_bytes'),
    plaintextSha256: text('plaintext_sha256'),
    ciphertextSha256: text('ciphertext_sha256'),
    blobCount: integer('blob_count'),
    /** The tenant's audit chain head the snapshot is consistent with. */
    auditSeq: integer('audit_seq'),
    verifiedAt: text('verified_at'),
    /** `ok`, or why the last verification failed. */
    verifyResult: text('verify_result'),
    error: text('error'),
    attempts: integer('attempts').notNull().default(0),
    createdAt: text('created_at').notNull(),
    completedAt: text('completed_at'),
  },
  (t) => [
    uniqueIndex('backups_daily').on(t.tenantId, t.jstDate).where(sql`kind = 'daily'`),
    index('backups_tenant').on(t.tenantId, t.id),
  ],
)

/**
 * Which file copies (`tenants/<tenant id>/blobs/<sha256>` in BACKUPS) each
 * generation refers to, so retention can remove the copies no kept
 * generation needs without decrypting anything. D1 already holds every
 * file's SHA-256 in `files`, so this adds nothing D1 did not know.
 */
export const backupBlobs = sqliteTable(
  'backup_blobs',
  {
    backupId: text('backup_id')
      .notNull()
      .references(() => backups.id, { onDelete: 'cascade' }),
    tenantId: text('tenant_id').notNull(),
    sha256: text('sha256').notNull(),
  },
  (t) => [primaryKey({ columns: [t.backupId, t.sha256] }), index('backup_blobs_tenant_sha').on(t.tenantId, t.sha256)],
)
