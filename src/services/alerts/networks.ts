import { and, desc, eq, inArray } from 'drizzle-orm'
import ipaddr from 'ipaddr.js'
import type { Database } from '../../db/client'
import { jsonList } from '../../db/json-list'
import { accountNetworks } from '../../db/schema'
import { describeError } from '../../lib/error-log'
import type { RequestMeta } from '../../lib/request-meta'
import { DAY_MS, isoNow } from '../../lib/time'
import { securityAlert } from './security-alerts'

/** Networks remembered per account; when a new one arrives, the least recently seen gives way. */
export const NETWORKS_PER_ACCOUNT = 20

/**
 * The network an address belongs to, as far as "have we seen this before"
 * goes: its IPv4 /24 or IPv6 /48 (a household, an office, a mobile carrier's
 * pool), so a new address from the same place is not news. IPv4-mapped IPv6
 * counts as IPv4. Null for no address or an unparsable one.
 */
export function networkOf(ip: string | null): string | null {
  if (!ip) return null
  try {
    let address = ipaddr.parse(ip.trim())
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address()
    const bits = address.kind() === 'ipv4' ? 24 : 48
    const cidr = `${address.toString()}/${bits}`
    const network = address.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(cidr) : ipaddr.IPv6.networkAddressFromCIDR(cidr)
    return `${network.toString()}/${bits}`
  } catch {
    return null
  }
}

export type SignedInAccount = { tenantId: string; id: string; email: string }

/**
 * After a successful sign-in: remembers the network it came from, and when
 * the account has signed in before but never from this network, raises
 * `security.new_network_sign_in`, mailed to the account itself and to the
 * tenant's admins. An account's first remembered network raises nothing
 * (its very first sign-in, or its first since this check exists). A known
 * network costs one read, and a write at most once a day (its last-seen
 * time, which decides what is forgotten first). The new network is recorded
 * in the alert's own transaction, guarded, so two sign-ins racing from it
 * raise one alert. Never fails the sign-in: an error is logged.
 */
export async function noteSignInNetwork(env: Env, db: Database, meta: RequestMeta, account: SignedInAccount, now = Date.now()) {
  const network = networkOf(meta.ip)
  if (!network) return
  try {
    const known = await db
      .select({ network: accountNetworks.network, lastSeenAt: accountNetworks.lastSeenAt })
      .from(accountNetworks)
      .where(and(eq(accountNetworks.tenantId, account.tenantId), eq(accountNetworks.accountId, account.id)))
      .orderBy(desc(accountNetworks.lastSeenAt))
    const seen = known.find((k) => k.network === network)
    const at = isoNow(now)
    if (seen) {
      if (now - Date.parse(seen.lastSeenAt) >= DAY_MS) {
        await db
          .update(accountNetworks)
          .set({ lastSeenAt: at })
          .where(and(eq(accountNetworks.tenantId, account.tenantId), eq(accountNetworks.accountId, account.id), eq(accountNetworks.network, network)))
      }
      return
    }
    const insert = db
      .insert(accountNetworks)
      .values({ tenantId: account.tenantId, accountId: account.id, network, firstSeenAt: at, lastSeenAt: at })
      .onConflictDoNothing()
    if (known.length === 0) {
      await insert
      return
    }
    const forgotten = known.slice(NETWORKS_PER_ACCOUNT - 1).map((k) => k.network)
    await securityAlert(
      env,
      db,
      meta,
      {
        tenantId: account.tenantId,
        kind: 'new_network_sign_in',
        subject: { type: 'user', id: account.id, email: account.email },
        details: { network },
        notifyUser: true,
      },
      {
        guards: [insert.toSQL()],
        writes:
          forgotten.length > 0
            ? [
                db
                  .delete(accountNetworks)
                  .where(and(eq(accountNetworks.tenantId, account.tenantId), eq(accountNetworks.accountId, account.id), inArray(accountNetworks.network, jsonList(forgotten))))
                  .toSQL(),
              ]
            : [],
        now,
      },
    )
  } catch (error) {
    console.error(JSON.stringify({ level: 'error', msg: 'new-network check failed', ...(await describeError(error)) }))
  }
}
