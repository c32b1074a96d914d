import ipaddr from 'ipaddr.js'
import { mac } from '../../lib/crypto'
import { normaliseEmail } from '../../lib/email'
import { throttleNameKey } from '../keys/platform-keys'

/**
 * Where an account's counters live: its realm (a tenant slug as typed, or
 * the platform for operators) and its e-mail, normalised exactly as sign-in
 * normalises them. Keys exist whether or not the tenant or account does, so
 * a throttle answers the same for both.
 */
export type AccountKey = { realm: string; email: string }

/** The realm of a tenant account, from the slug as the sign-in form carries it. */
export function tenantRealm(slug: string): string {
  return `tenant:${slug.trim().toLowerCase()}`
}

/** Operators: one realm that no tenant slug can spell. */
export const PLATFORM_REALM = 'platform'

export function accountKey(realm: string, email: string): AccountKey {
  return { realm, email: normaliseEmail(email) }
}

/**
 * The client network a request counts against: the IPv4 address, or the
 * /64 of an IPv6 address (one subscriber usually holds a whole /64, so
 * counting single IPv6 addresses would let one client spread over 2^64
 * keys). IPv4-mapped IPv6 counts as its IPv4 address; no or an unreadable
 * address counts as one shared network.
 */
export function networkOf(ip: string | null): string {
  if (!ip) return 'unknown'
  try {
    let address = ipaddr.parse(ip.trim())
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address()
    if (address.kind() === 'ipv4') return address.toString()
    const parts = (address as ipaddr.IPv6).parts.slice(0, 4)
    return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`
  } catch {
    return 'unknown'
  }
}

async function hashed(env: Pick<Env, 'DB' | 'MASTER_KEY'>, text: string) {
  return mac(await throttleNameKey(env), text)
}

/** The name of an account's throttle object. */
export async function accountObject(env: Pick<Env, 'DB' | 'MASTER_KEY'>, key: AccountKey): Promise<string> {
  return `account:${await hashed(env, `account\n${key.realm}\n${key.email}`)}`
}

/**
 * A client network's throttle object, and the key its pair counters carry
 * in account objects.
 */
export async function networkKeys(env: Pick<Env, 'DB' | 'MASTER_KEY'>, ip: string | null): Promise<{ network: string; object: string; pairKey: string }> {
  const network = networkOf(ip)
  const pairKey = await hashed(env, `network\n${network}`)
  return { network, object: `ip:${pairKey}`, pairKey }
}
