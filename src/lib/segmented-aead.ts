/**
 * Streamed, segmented AES-256-GCM (format `MSA1`) for objects of any size
 * with flat memory: backups, and the file copies next to them.
 *
 * Layout:
 *
 *   header   = "MSA1" | u32 segment size | u8 key-id length | key id (UTF-8)
 *              | wrap IV (12) | wrapped content key (32 + 16 tag)
 *   segments = AES-GCM(content key, nonce = 0^8 | u32 index, segment) ...
 *
 * Every object gets its own random 256-bit content key, sealed once under the
 * caller's key (the tenant key) with a random 96-bit IV: that key is used for
 * one encryption per object, well inside the random-IV bound of GCM, and the
 * segment nonces are a plain counter under a key that encrypts nothing else,
 * so a nonce can never repeat under any key (up to 2^32 segments, 256 TiB at
 * 64 KiB, per object). A random nonce prefix under the tenant key would have
 * had a birthday bound over all the tenant's objects instead.
 *
 * The additional data of every segment is the whole header, the object's
 * identity (chosen by the caller: what the object is and whose), the
 * segment's index and a last-segment flag. So a segment moved to another
 * position (reordering), to another object (splicing: another content key and
 * identity), a header swapped in, or an object cut at a segment boundary
 * (truncation: the new final segment does not carry the flag) all fail to
 * open. An empty plaintext is one empty final segment, so zero segments is
 * itself an error.
 *
 * Pure: WebCrypto only, nothing from the app.
 */

const MAGIC = new Uint8Array([0x4d, 0x53, 0x41, 0x31]) // "MSA1"
const TAG_BYTES = 16
const WRAP_IV_BYTES = 12
const WRAPPED_KEY_BYTES = 32 + TAG_BYTES

export const DEFAULT_SEGMENT_BYTES = 64 * 1024
/** Header size limit when parsing: magic, size, key id (≤ 255) and the wrapped key. */
const MAX_HEADER_BYTES = 4 + 4 + 1 + 255 + WRAP_IV_BYTES + WRAPPED_KEY_BYTES

/** Thrown for any object that does not open: tampered, truncated, reordered, spliced or under another key. */
export class SegmentedAeadError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SegmentedAeadError'
  }
}

const encoder = new TextEncoder()

function concat(parts: Uint8Array[], total = parts.reduce((n, p) => n + p.length, 0)) {
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

function u32(n: number) {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n)
  return b
}

function segmentNonce(index: number) {
  const nonce = new Uint8Array(12)
  new DataView(nonce.buffer).setUint32(8, index)
  return nonce
}

function segmentAad(header: Uint8Array, identity: Uint8Array, index: number, last: boolean) {
  return concat([header, u32(identity.length), identity, u32(index), new Uint8Array([last ? 1 : 0])])
}

function wrapAad(prefix: Uint8Array, identity: Uint8Array) {
  return concat([encoder.encode('MSA1 content key'), prefix, u32(identity.length), identity])
}

/** A queue of byte chunks that hands out exact-size slices without re-copying everything on every push. */
class ByteQueue {
  private chunks: Uint8Array[] = []
  length = 0
  push(chunk: Uint8Array) {
    if (chunk.length) {
      this.chunks.push(chunk)
      this.length += chunk.length
    }
  }
  /** The first `n` bytes (or fewer, if fewer are queued), left in the queue. */
  peek(n: number): Uint8Array {
    const parts: Uint8Array[] = []
    let need = Math.min(n, this.length)
    for (const chunk of this.chunks) {
      if (need <= 0) break
      parts.push(chunk.subarray(0, need))
      need -= Math.min(chunk.length, need)
    }
    return concat(parts)
  }
  take(n: number): Uint8Array {
    const parts: Uint8Array[] = []
    let need = n
    while (need > 0) {
      const head = this.chunks[0]!
      if (head.length <= need) {
        parts.push(head)
        this.chunks.shift()
        need -= head.length
      } else {
        parts.push(head.subarray(0, need))
        this.chunks[0] = head.subarray(need)
        need = 0
      }
    }
    this.length -= n
    return parts.length === 1 ? parts[0]! : concat(parts, n)
  }
}

export type SealOptions = {
  /** The key that seals each object's content key (AES-GCM, usages encrypt). */
  key: CryptoKey
  /** Named in the header so the reader knows which key to ask for. */
  keyId: string
  /** What this object is (`backup/<tenant>/<id>/data`): bound to every segment. */
  identity: string
  /** Plaintext bytes per segment. Default 64 KiB. */
  segmentBytes?: number
}

/**
 * Push-style encryptor: `push` plaintext in any chunking, `finish` once; each
 * returns the ciphertext bytes ready so far (the first call's include the
 * header). At most one segment of plaintext is held back.
 */
export class SegmentSealer {
  private queue = new ByteQueue()
  private index = 0
  private header: Uint8Array | null = null
  private contentKey: CryptoKey | null = null
  private finished = false
  private readonly identity: Uint8Array
  private readonly segmentBytes: number

  constructor(private readonly options: SealOptions) {
    this.identity = encoder.encode(options.identity)
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES
    if (!Number.isInteger(this.segmentBytes) || this.segmentBytes < 1 || this.segmentBytes > 2 ** 24) throw new RangeError('segment size out of range')
    if (encoder.encode(options.keyId).length > 255) throw new RangeError('key id too long')
  }

  private async start(): Promise<Uint8Array> {
    const keyId = encoder.encode(this.options.keyId)
    const prefix = concat([MAGIC, u32(this.segmentBytes), new Uint8Array([keyId.length]), keyId])
    const raw = crypto.getRandomValues(new Uint8Array(32))
    const iv = crypto.getRandomValues(new Uint8Array(WRAP_IV_BYTES))
    const wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: wrapAad(prefix, this.identity) }, this.options.key, raw))
    this.contentKey = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt'])
    raw.fill(0)
    this.header = concat([prefix, iv, wrapped])
    return this.header
  }

  private async seal(segment: Uint8Array, last: boolean) {
    if (this.index > 0xffffffff) throw new RangeError('too many segments')
    const out = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: segmentNonce(this.index), additionalData: segmentAad(this.header!, this.identity, this.index, last) },
      this.contentKey!,
      segment,
    )
    this.index += 1
    return new Uint8Array(out)
  }

  async push(chunk: Uint8Array): Promise<Uint8Array[]> {
    if (this.finished) throw new Error('sealer already finished')
    const out: Uint8Array[] = []
    if (!this.header) out.push(await this.start())
    this.queue.push(chunk)
    // Strictly more than a segment: the segment is final only if nothing follows it.
    while (this.queue.length > this.segmentBytes) out.push(await this.seal(this.queue.take(this.segmentBytes), false))
    return out
  }

  async finish(): Promise<Uint8Array[]> {
    if (this.finished) throw new Error('sealer already finished')
    const out: Uint8Array[] = []
    if (!this.header) out.push(await this.start())
    this.finished = true
    out.push(await this.seal(this.queue.take(this.queue.length), true))
    return out
  }
}

/** What the header of a sealed object says before anything is decrypted. */
export type SealedHeader = { keyId: string; segmentBytes: number; headerBytes: number }

/** Reads the header fields of a sealed object from its first bytes (null: not enough bytes yet). */
export function readSealedHeader(bytes: Uint8Array): SealedHeader | null {
  if (bytes.length < 9) return null
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) throw new SegmentedAeadError('not a sealed object')
  const segmentBytes = new DataView(bytes.buffer, bytes.byteOffset).getUint32(4)
  const keyIdLength = bytes[8]!
  const headerBytes = 9 + keyIdLength + WRAP_IV_BYTES + WRAPPED_KEY_BYTES
  if (segmentBytes < 1 || segmentBytes > 2 ** 24) throw new SegmentedAeadError('bad segment size')
  if (bytes.length < headerBytes) return null
  return { keyId: new TextDecoder().decode(bytes.subarray(9, 9 + keyIdLength)), segmentBytes, headerBytes }
}

export type OpenOptions = {
  /** Resolves the key the header names (the tenant key by its ID). */
  keyFor: (keyId: string) => Promise<CryptoKey>
  /** Must equal the identity the object was sealed with. */
  identity: string
}

/**
 * Push-style decryptor: returns only authenticated plaintext. A segment is
 * released once the next one's first byte has arrived (so it is known not to
 * be the last); `finish` opens the final segment and fails if the object was
 * cut short. Any failure throws SegmentedAeadError.
 */
export class SegmentOpener {
  private queue = new ByteQueue()
  private header: Uint8Array | null = null
  private contentKey: CryptoKey | null = null
  private segmentBytes = 0
  private index = 0
  private finished = false
  private readonly identity: Uint8Array
  /** The key ID the header named, once read. */
  keyId: string | null = null

  constructor(private readonly options: OpenOptions) {
    this.identity = encoder.encode(options.identity)
  }

  private async readHeader(): Promise<boolean> {
    const parsed = readSealedHeader(this.queue.peek(MAX_HEADER_BYTES))
    if (!parsed) return false
    const header = this.queue.take(parsed.headerBytes).slice()
    const prefixEnd = parsed.headerBytes - WRAP_IV_BYTES - WRAPPED_KEY_BYTES
    const prefix = header.subarray(0, prefixEnd)
    const iv = header.subarray(prefixEnd, prefixEnd + WRAP_IV_BYTES)
    const wrapped = header.subarray(prefixEnd + WRAP_IV_BYTES)
    let key: CryptoKey
    try {
      key = await this.options.keyFor(parsed.keyId)
    } catch {
      throw new SegmentedAeadError(`key ${parsed.keyId} is not available`)
    }
    let raw: Uint8Array
    try {
      raw = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: wrapAad(prefix, this.identity) }, key, wrapped))
    } catch {
      throw new SegmentedAeadError('the content key does not open: wrong key, wrong object or a changed header')
    }
    this.contentKey = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['decrypt'])
    raw.fill(0)
    this.header = header
    this.segmentBytes = parsed.segmentBytes
    this.keyId = parsed.keyId
    return true
  }

  private async open(sealed: Uint8Array, last: boolean) {
    try {
      const out = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: segmentNonce(this.index), additionalData: segmentAad(this.header!, this.identity, this.index, last) },
        this.contentKey!,
        sealed,
      )
      this.index += 1
      return new Uint8Array(out)
    } catch {
      throw new SegmentedAeadError(`segment ${this.index} does not open${last ? ' as the last segment: the object was cut short or changed' : ''}`)
    }
  }

  async push(chunk: Uint8Array): Promise<Uint8Array[]> {
    if (this.finished) throw new Error('opener already finished')
    this.queue.push(chunk)
    if (!this.header && !(await this.readHeader())) return []
    const out: Uint8Array[] = []
    const sealedBytes = this.segmentBytes + TAG_BYTES
    while (this.queue.length > sealedBytes) out.push(await this.open(this.queue.take(sealedBytes), false))
    return out
  }

  async finish(): Promise<Uint8Array[]> {
    if (this.finished) throw new Error('opener already finished')
    this.finished = true
    if (!this.header && !(await this.readHeader())) throw new SegmentedAeadError('the object ends inside its header')
    if (this.queue.length < TAG_BYTES) throw new SegmentedAeadError('the object has no final segment: it was cut short')
    return [await this.open(this.queue.take(this.queue.length), true)]
  }
}

/** A TransformStream that seals what flows through it. */
export function sealStream(options: SealOptions): TransformStream<Uint8Array, Uint8Array> {
  const sealer = new SegmentSealer(options)
  return new TransformStream({
    async transform(chunk, controller) {
      for (const out of await sealer.push(chunk)) controller.enqueue(out)
    },
    async flush(controller) {
      for (const out of await sealer.finish()) controller.enqueue(out)
    },
  })
}

/** A TransformStream that opens what flows through it, erroring on the first segment that does not authenticate. */
export function openStream(options: OpenOptions): TransformStream<Uint8Array, Uint8Array> {
  const opener = new SegmentOpener(options)
  return new TransformStream({
    async transform(chunk, controller) {
      for (const out of await opener.push(chunk)) controller.enqueue(out)
    },
    async flush(controller) {
      for (const out of await opener.finish()) controller.enqueue(out)
    },
  })
}

/** Seals a whole buffer at once (small objects, tests). */
export async function sealBytes(options: SealOptions, plaintext: Uint8Array): Promise<Uint8Array> {
  const sealer = new SegmentSealer(options)
  return concat([...(await sealer.push(plaintext)), ...(await sealer.finish())])
}

/** Opens a whole buffer at once (small objects, tests). */
export async function openBytes(options: OpenOptions, sealed: Uint8Array): Promise<Uint8Array> {
  const opener = new SegmentOpener(options)
  return concat([...(await opener.push(sealed)), ...(await opener.finish())])
}
