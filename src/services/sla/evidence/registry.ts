import { announcements } from './announcements'
import { availability } from './availability'
import { backupEvidence } from './backups'
import { accounts } from './accounts'
import { auditTrail } from './audit-trail'
import { authentication } from './authentication'
import { byConstruction } from './by-construction'
import { customisation } from './customisation'
import { encryption } from './encryption'
import { helpPage } from './help'
import { incidentNotices } from './incident-notices'
import { lifecycle } from './lifecycle'
import { maintenance } from './maintenance'
import { monitoring } from './monitoring'
import { organisational } from './organisational'
import { passwordRules } from './password-rules'
import { pending } from './pending'
import { planLimits } from './plan-limits'
import type { EvidenceProvider } from './provider'
import { protection } from './protection'
import { quotas } from './quotas'
import { sourceRestrictions } from './source-restrictions'
import { supportAccessEvidence } from './support-access'

/**
 * Every evidence provider, in order of precedence: a later one's answer for
 * a row replaces an earlier one's. `pending` comes first, so new evidence for
 * a row is one new provider file plus one line here.
 */
export const EVIDENCE_PROVIDERS: readonly EvidenceProvider[] = [
  pending,
  organisational,
  passwordRules,
  sourceRestrictions,
  accounts,
  customisation,
  authentication,
  planLimits,
  auditTrail,
  encryption,
  supportAccessEvidence,
  monitoring,
  byConstruction,
  protection,
  availability,
  maintenance,
  announcements,
  quotas,
  incidentNotices,
  lifecycle,
  helpPage,
  backupEvidence,
]
