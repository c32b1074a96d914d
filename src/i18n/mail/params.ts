/**
 * What each mail is written from: plain facts, never a sentence. Services
 * fill these; the catalogues (ja.ts, en.ts) turn them into words. Times are
 * ISO-8601 UTC here and shown in JST by the catalogues.
 */

export type MailText = { subject: string; text: string }

export type CodeMail = { code: string; minutes: number }

export type SecurityAlertKind =
  | 'new_network_sign_in'
  | 'source_refusal_burst'
  | 'download_burst'
  | 'permission_failures'
  | 'brute_force'
  | 'account_locked'

/** The facts an alert mail lists: when, whom it is about, how many, and the detector's own details. */
export type SecurityFacts = {
  at: string
  account?: { email?: string | undefined; id: string | null }
  /** Something other than an account (a tenant, a session). */
  target?: { type: string; id: string }
  count?: { value: number; threshold?: number | undefined; window?: { minutes: number; start: string; end: string } | undefined }
  details: Record<string, string | number | boolean | null>
}

export type WindowFacts = {
  kind: 'maintenance' | 'outage'
  starts_at: string
  ends_at: string
  emergency: boolean
  reason: string | null
  message: string | null
}

export type WindowEvent = 'scheduled' | 'changed' | 'cancelled' | 'reminder-7d' | 'reminder-1d' | 'started' | 'ended'

export type AnnouncementFacts = { kind: 'end_of_service' | 'upgrade' | 'notice'; effective_at: string; subject: string; body: string }

export type IncidentFacts = { title: string; description: string; severity: string; opened_at: string; resolved_at: string | null }

export type IncidentEvent = { kind: 'opened' } | { kind: 'update'; message: string } | { kind: 'resolved'; message: string }

/**
 * A notice to many tenants as stored with its job (notice_jobs.message):
 * the parameters, so every recipient's mail is written in their language
 * when the job fans out.
 */
export type NoticeMessage =
  | { kind: 'window'; event: WindowEvent; window: WindowFacts }
  | { kind: 'announcement'; announcement: AnnouncementFacts }
  | { kind: 'incident'; event: IncidentEvent; incident: IncidentFacts }
