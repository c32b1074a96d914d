import ipaddr from 'ipaddr.js'

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
const H = '[0-9A-Fa-f]{1,4}'
const IPV4 = `(${OCTET}\\.){3}${OCTET}(/(3[0-2]|[12]?[0-9]))?`
const IPV6 =
  `(((${H}:){7}${H})|((${H}:){1,7}:)|((${H}:){1,6}:${H})|((${H}:){1,5}(:${H}){1,2})|((${H}:){1,4}(:${H}){1,3})` +
  `|((${H}:){1,3}(:${H}){1,4})|((${H}:){1,2}(:${H}){1,5})|(${H}:(:${H}){1,6})|(:((:${H}){1,7}|:)))(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?`

/**
 * The written forms of an address or range the API accepts: dotted IPv4 and
 * colon-hex IPv6 (with `::`), each with an optional prefix length, surrounding
 * spaces allowed (they are dropped). Checked
 * before parsing, and published as the OpenAPI `pattern`, so the document and
 * the server accept exactly the same strings.
 */
export const CIDR_PATTERN = new RegExp(`^ *(${IPV4}|${IPV6}) *$`)

/**
 * CIDR parsing and matching for IPv4 and IPv6. A bare address counts as a
 * single-host range. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match IPv4
 * ranges, since that is how some proxies report IPv4 clients.
 */
export function normaliseCidr(text: string): string | null {
  try {
    const trimmed = text.trim()
    const withBits = trimmed.includes('/') ? trimmed : `${trimmed}/${ipaddr.parse(trimmed).kind() === 'ipv4' ? 32 : 128}`
    const [address, bits] = ipaddr.parseCIDR(withBits)
    // Canonical network form: 10.1.2.3/8 is stored as 10.0.0.0/8.
    const network =
      address.kind() === 'ipv4' ? ipaddr.IPv4.networkAddressFromCIDR(withBits) : ipaddr.IPv6.networkAddressFromCIDR(withBits)
    return `${network.toString()}/${bits}`
  } catch {
    return null
  }
}

function parseAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  try {
    const parsed = ipaddr.parse(ip.trim())
    return parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()
      ? (parsed as ipaddr.IPv6).toIPv4Address()
      : parsed
  } catch {
    return null
  }
}

/** Whether `ip` falls in any of `cidrs`. An unparsable IP matches nothing. */
export function ipInRanges(ip: string | null, cidrs: readonly string[]): boolean {
  if (!ip) return false
  const address = parseAddress(ip)
  if (!address) return false
  return cidrs.some((cidr) => {
    try {
      const range = ipaddr.parseCIDR(cidr)
      return range[0].kind() === address.kind() && address.match(range)
    } catch {
      return false
    }
  })
}
