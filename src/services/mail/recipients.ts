import { and, eq } from 'drizzle-orm'
import type { Database } from '../../db/client'
import { operators, tenants, users } from '../../db/schema'
import { DEFAULT_LOCALE, pickLocale, type Locale } from '../../i18n'

/**
 * The language of one account's mail, for the few mails whose cause has not
 * read the account's row already (throttle notices, alerts to the account):
 * the account's own setting, else its tenant's, else Japanese. One query.
 */
export async function accountLocale(db: Database, account: { type: 'user' | 'operator'; id: string; tenantId: string | null }): Promise<Locale> {
  if (account.type === 'operator') {
    const row = await db.select({ language: operators.language }).from(operators).where(eq(operators.id, account.id)).get()
    return pickLocale(row?.language)
  }
  if (!account.tenantId) return DEFAULT_LOCALE
  const row = await db
    .select({ own: users.language, tenant: tenants.language })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.id, account.id), eq(users.tenantId, account.tenantId)))
    .get()
  return pickLocale(row?.own, row?.tenant)
}
