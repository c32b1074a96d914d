import { scrypt, timingSafeEqual } from 'node:crypto'
import { randomBytes } from '../../lib/digest'
import { fromBase64Url, toBase64Url } from '../../lib/encoding'
import { Semaphore } from '../../lib/semaphore'
import { env } from 'cloudflare:workers'

/**
 * Password hashing with the runtime's native scrypt (nodejs_compat).
 *
 * N=2^15, r=8, p=2 holds 32 MiB per hash (128·N·r bytes; the p lanes run one
 * after another). An attacker's cost grows with memory × passes, and memory is
 * the cheaper lever for us: this is twice better-auth's default
 * (N=2^14, r=16, p=1) in memory × passes for less CPU than our earlier
 * N=2^14, r=8, p=5 (see BENCHMARKS.md). At most HASHES_IN_FLIGHT hashes run per
 * isolate, so password work never holds more than 64 MiB of the isolate's
 * 128 MB, however many sign-ins arrive at once. Parameters are stored in every
 * hash, so old hashes are re-hashed on the next successful sign-in
 * (`needsRehash`).
 */
const PROFILES = {
  production: {
    logN: 15,
    r: 8,
    p: 2,
    dummy: 'scrypt$ln=15,r=8,p=2$avf8rJQlYUel2CSDs21xlw$9GPV_VKExy5PaJtfyp9-A4ji1sx-AklOnvzYMmtP4SU',
  },
  // Tests only (PASSWORD_HASH_PROFILE=test): the same code path at 1/64 of the
  // cost, so the suite is not dominated by scrypt. One vitest project keeps the
  // production profile and runs the password and sign-in suites end to end.
  test: {
    logN: 10,
    r: 8,
    p: 1,
    dummy: 'scrypt$ln=10,r=8,p=1$1DWmqtsEIaXABFlLrHL6wg$imAihydvH77YmmUwdIWvaMN1487gy4LptSVbBNoA4N8',
  },
} as const
const KEY_LENGTH = 32
const SALT_LENGTH = 16
const HASHES_IN_FLIGHT = 2
const hashSlots = new Semaphore(HASHES_IN_FLIGHT)

export const PASSWORD_MAX_LENGTH = 128

/** The parameters new hashes get; anything but the explicit test profile is production. */
export function currentHashParams() {
  const profile = env.PASSWORD_HASH_PROFILE === 'test' ? PROFILES.test : PROFILES.production
  return { logN: profile.logN, r: profile.r, p: profile.p, keyLength: KEY_LENGTH, saltLength: SALT_LENGTH }
}

/**
 * A hash of a random password nobody knows, with the current parameters.
 * Verifying against it when an account does not exist costs exactly what a
 * real verify costs, so timing does not tell which accounts exist.
 */
export function dummyHash(): string {
  return env.PASSWORD_HASH_PROFILE === 'test' ? PROFILES.test.dummy : PROFILES.production.dummy
}

type ParsedHash = { logN: number; r: number; p: number; salt: Uint8Array; hash: Uint8Array }

/** NIST SP 800-63B: normalise so the same password typed on two keyboards matches. */
function normalise(password: string): string {
  return password.normalize('NFKC')
}

function derive(password: string, salt: Uint8Array, logN: number, r: number, p: number, keyLength: number) {
  const N = 2 ** logN
  return hashSlots.run(
    () =>
      new Promise<Uint8Array>((resolve, reject) =>
        scrypt(normalise(password), salt, keyLength, { N, r, p, maxmem: 128 * N * r + 1024 * 1024 }, (err, key) =>
          err ? reject(err) : resolve(new Uint8Array(key)),
        ),
      ),
  )
}

export async function hashPassword(password: string): Promise<string> {
  const { logN, r, p, keyLength, saltLength } = currentHashParams()
  const salt = randomBytes(saltLength)
  const key = await derive(password, salt, logN, r, p, keyLength)
  return `scrypt$ln=${logN},r=${r},p=${p}$${toBase64Url(salt)}$${toBase64Url(key)}`
}

function parse(stored: string): ParsedHash | null {
  const m = /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([\w-]+)\$([\w-]+)$/.exec(stored)
  if (!m) return null
  return {
    logN: Number(m[1]),
    r: Number(m[2]),
    p: Number(m[3]),
    salt: fromBase64Url(m[4]!),
    hash: fromBase64Url(m[5]!),
  }
}

export type VerifyResult = { ok: boolean; needsRehash: boolean }

/** Checks a password against a stored hash in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<VerifyResult> {
  const dummy = dummyHash()
  const own = stored === dummy ? null : parse(stored)
  // An unreadable hash still costs a full verify, and never matches.
  const parsed = own ?? parse(dummy)!
  const key = await derive(password, parsed.salt, parsed.logN, parsed.r, parsed.p, parsed.hash.length)
  const ok = timingSafeEqual(key, parsed.hash) && own !== null
  const current = currentHashParams()
  const needsRehash = parsed.logN !== current.logN || parsed.r !== current.r || parsed.p !== current.p
  return { ok, needsRehash }
}

/** Burns one verify's worth of work when there is no account to check against. */
export async function verifyNothing(password: string): Promise<false> {
  await verifyPassword(password, dummyHash())
  return false
}

/**
 * System-generated temporary password: 20 characters from an alphabet without
 * look-alikes (about 110 bits), shown once and never chosen by an admin.
 */
export function temporaryPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789'
  let out = ''
  while (out.length < 20) {
    for (const b of randomBytes(32)) {
      // Rejection sampling keeps every character equally likely.
      if (b < 256 - (256 % alphabet.length) && out.length < 20) out += alphabet[b % alphabet.length]
    }
  }
  return out
}
