import { describe, expect, it } from 'vitest'
import { SegmentedAeadError, openBytes, openStream, readSealedHeader, sealBytes, sealStream } from '../src/lib/segmented-aead'

async function aesKey(): Promise<CryptoKey> {
  return (await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])) as CryptoKey
}

function bytes(n: number, seed = 1) {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

const SEG = 64
const HEADER = 4 + 4 + 1 + 'k1'.length + 12 + 48

async function setup(plaintextBytes = SEG * 3 + 10) {
  const key = await aesKey()
  const plain = bytes(plaintextBytes)
  const sealed = await sealBytes({ key, keyId: 'k1', identity: 'obj-a', segmentBytes: SEG }, plain)
  const open = (data: Uint8Array, identity = 'obj-a', k = key) => openBytes({ keyFor: async () => k, identity }, data)
  return { key, plain, sealed, open }
}

/** The sealed segments of a small test object, split at their boundaries. */
function segmentsOf(sealed: Uint8Array) {
  const header = sealed.subarray(0, HEADER)
  const segments: Uint8Array[] = []
  for (let at = HEADER; at < sealed.length; at += SEG + 16) segments.push(sealed.subarray(at, Math.min(at + SEG + 16, sealed.length)))
  return { header, segments }
}

function join(...parts: Uint8Array[]) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

describe('segmented AES-GCM', () => {
  it('round-trips data of any length, including empty and exact multiples of the segment', async () => {
    const key = await aesKey()
    for (const n of [0, 1, SEG - 1, SEG, SEG + 1, SEG * 4, SEG * 4 + 7]) {
      const plain = bytes(n, n)
      const sealed = await sealBytes({ key, keyId: 'k1', identity: 'x', segmentBytes: SEG }, plain)
      expect(sealed.length).toBe(HEADER + n + 16 * Math.max(1, Math.ceil(n / SEG)))
      expect(await openBytes({ keyFor: async () => key, identity: 'x' }, sealed)).toEqual(plain)
    }
  })

  it('names its key in the header and keeps no plaintext', async () => {
    const { sealed, plain } = await setup()
    expect(readSealedHeader(sealed)).toEqual({ keyId: 'k1', segmentBytes: SEG, headerBytes: HEADER })
    const marker = new TextDecoder('latin1').decode(plain.subarray(0, 16))
    expect(new TextDecoder('latin1').decode(sealed).includes(marker)).toBe(false)
  })

  it('streams through TransformStreams with any chunking', async () => {
    const key = await aesKey()
    const plain = bytes(SEG * 10 + 3)
    const chunks = [plain.subarray(0, 5), plain.subarray(5, 200), plain.subarray(200)]
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(ch)
        c.close()
      },
    })
    const out = await new Response(
      source.pipeThrough(sealStream({ key, keyId: 'k1', identity: 'y', segmentBytes: SEG })).pipeThrough(openStream({ keyFor: async () => key, identity: 'y' })),
    ).arrayBuffer()
    expect(new Uint8Array(out)).toEqual(plain)
  })

  it('detects one flipped ciphertext byte', async () => {
    const { sealed, open } = await setup()
    const tampered = sealed.slice()
    tampered[HEADER + 3]! ^= 1
    await expect(open(tampered)).rejects.toBeInstanceOf(SegmentedAeadError)
  })

  it('detects truncation: the last segment dropped', async () => {
    const { sealed, open } = await setup()
    const { header, segments } = segmentsOf(sealed)
    await expect(open(join(header, ...segments.slice(0, -1)))).rejects.toThrow(/cut short/)
  })

  it('detects truncation to the header alone, and inside the header', async () => {
    const { sealed, open } = await setup()
    await expect(open(sealed.subarray(0, HEADER))).rejects.toBeInstanceOf(SegmentedAeadError)
    await expect(open(sealed.subarray(0, 10))).rejects.toBeInstanceOf(SegmentedAeadError)
  })

  it('detects reordered segments', async () => {
    const { sealed, open } = await setup()
    const { header, segments } = segmentsOf(sealed)
    await expect(open(join(header, segments[1]!, segments[0]!, ...segments.slice(2)))).rejects.toBeInstanceOf(SegmentedAeadError)
  })

  it('detects a segment spliced in from another object under the same key', async () => {
    const key = await aesKey()
    const a = await sealBytes({ key, keyId: 'k1', identity: 'a', segmentBytes: SEG }, bytes(SEG * 3, 1))
    const b = await sealBytes({ key, keyId: 'k1', identity: 'a', segmentBytes: SEG }, bytes(SEG * 3, 2))
    const sa = segmentsOf(a)
    const sb = segmentsOf(b)
    await expect(openBytes({ keyFor: async () => key, identity: 'a' }, join(sa.header, sa.segments[0]!, sb.segments[1]!, sa.segments[2]!))).rejects.toBeInstanceOf(
      SegmentedAeadError,
    )
  })

  it('refuses another identity and another key', async () => {
    const { sealed, open } = await setup()
    await expect(open(sealed, 'obj-b')).rejects.toThrow(/content key does not open/)
    await expect(open(sealed, 'obj-a', await aesKey())).rejects.toThrow(/content key does not open/)
  })

  it('refuses a missing key with a clear error', async () => {
    const { sealed } = await setup()
    await expect(
      openBytes(
        {
          keyFor: async () => {
            throw new Error('gone')
          },
          identity: 'obj-a',
        },
        sealed,
      ),
    ).rejects.toThrow(/key k1 is not available/)
  })

  it('uses a fresh content key per object: equal plaintexts seal differently', async () => {
    const key = await aesKey()
    const plain = bytes(SEG * 2)
    const one = await sealBytes({ key, keyId: 'k1', identity: 'z', segmentBytes: SEG }, plain)
    const two = await sealBytes({ key, keyId: 'k1', identity: 'z', segmentBytes: SEG }, plain)
    expect(one.subarray(HEADER)).not.toEqual(two.subarray(HEADER))
  })
})
