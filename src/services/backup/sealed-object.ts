import { createHash, type Hash } from 'node:crypto'
import { SegmentOpener, SegmentSealer } from '../../lib/segmented-aead'
import { tenantDataKey, tenantKeyById } from '../keys/tenant-keys'

/**
 * Writing and reading objects sealed under a tenant's key (lib/segmented-aead)
 * in the BACKUPS bucket, with flat memory whatever their size: plaintext is
 * pushed in pieces, sealed segment by segment and sent as R2 multipart parts
 * of PART_BYTES (R2 wants every part but the last the same size, ≥ 5 MiB);
 * an object smaller than one part is one plain put. Both SHA-256 digests are
 * computed on the way.
 */
export const PART_BYTES = 5 * 1024 * 1024
const PARTS_IN_FLIGHT = 2

/** Where a tenant's backup objects live: everything under one prefix, so erasure is one prefix. */
export const backupKeys = {
  prefix: (tenantId: string) => `tenants/${tenantId}/`,
  snapshotPrefix: (tenantId: string, backupId: string) => `tenants/${tenantId}/snapshots/${backupId}/`,
  data: (tenantId: string, backupId: string) => `tenants/${tenantId}/snapshots/${backupId}/data`,
  manifest: (tenantId: string, backupId: string) => `tenants/${tenantId}/snapshots/${backupId}/manifest.json`,
  blobPrefix: (tenantId: string) => `tenants/${tenantId}/blobs/`,
  blob: (tenantId: string, sha256: string) => `tenants/${tenantId}/blobs/${sha256}`,
}

/** The identities bound into every segment: a segment of one object never opens as part of another. */
export const identities = {
  snapshot: (tenantId: string, backupId: string) => `mamori/snapshot/v1/${tenantId}/${backupId}`,
  blob: (tenantId: string, sha256: string) => `mamori/blob/v1/${tenantId}/${sha256}`,
}

export type SealedSummary = { keyId: string; plaintextBytes: number; ciphertextBytes: number; plaintextSha256: string; ciphertextSha256: string }

export class SealedObjectWriter {
  private sealer: SegmentSealer | null = null
  private keyId = ''
  private parts: Uint8Array[] = []
  private partLength = 0
  private upload: R2MultipartUpload | null = null
  private uploaded: Promise<R2UploadedPart>[] = []
  private readonly plainHash: Hash = createHash('sha256')
  private readonly cipherHash: Hash = createHash('sha256')
  private plaintextBytes = 0
  private ciphertextBytes = 0

  constructor(
    private readonly env: Env,
    private readonly tenantId: string,
    private readonly key: string,
    private readonly identity: string,
  ) {}

  private async open() {
    const { keyId, key } = await tenantDataKey(this.env, this.tenantId)
    this.keyId = keyId
    this.sealer = new SegmentSealer({ key, keyId, identity: this.identity })
  }

  async write(chunk: Uint8Array) {
    if (!this.sealer) await this.open()
    this.plainHash.update(chunk)
    this.plaintextBytes += chunk.length
    await this.emit(await this.sealer!.push(chunk))
  }

  private async emit(sealed: Uint8Array[]) {
    for (const piece of sealed) {
      this.cipherHash.update(piece)
      this.ciphertextBytes += piece.length
      this.parts.push(piece)
      this.partLength += piece.length
    }
    while (this.partLength >= PART_BYTES) await this.sendPart(PART_BYTES)
  }

  private takeBytes(n: number) {
    const out = new Uint8Array(n)
    let at = 0
    while (at < n) {
      const head = this.parts[0]!
      const need = n - at
      if (head.length <= need) {
        out.set(head, at)
        at += head.length
        this.parts.shift()
      } else {
        out.set(head.subarray(0, need), at)
        this.parts[0] = head.subarray(need)
        at = n
      }
    }
    this.partLength -= n
    return out
  }

  /**
   * Sends a part without waiting for it, so reading and sealing go on while
   * it uploads; at most PARTS_IN_FLIGHT are outstanding, which bounds memory.
   */
  private async sendPart(n: number) {
    this.upload ??= await this.env.BACKUPS.createMultipartUpload(this.key, { customMetadata: { 'key-id': this.keyId, format: 'MSA1' } })
    if (this.uploaded.length >= PARTS_IN_FLIGHT) await this.uploaded[this.uploaded.length - PARTS_IN_FLIGHT]
    const sending = this.upload.uploadPart(this.uploaded.length + 1, this.takeBytes(n))
    // Awaited in close(); a failure there aborts the whole object.
    sending.catch(() => undefined)
    this.uploaded.push(sending)
  }

  /** Seals the last segment and completes the object. */
  async close(): Promise<SealedSummary> {
    if (!this.sealer) await this.open()
    await this.emit(await this.sealer!.finish())
    if (this.upload) {
      if (this.partLength > 0) await this.sendPart(this.partLength)
      await this.upload.complete(await Promise.all(this.uploaded))
    } else {
      await this.env.BACKUPS.put(this.key, this.takeBytes(this.partLength), { customMetadata: { 'key-id': this.keyId, format: 'MSA1' } })
    }
    return {
      keyId: this.keyId,
      plaintextBytes: this.plaintextBytes,
      ciphertextBytes: this.ciphertextBytes,
      plaintextSha256: this.plainHash.digest('hex'),
      ciphertextSha256: this.cipherHash.digest('hex'),
    }
  }

  /** Gives up: an unfinished multipart upload is never visible as an object. */
  async abort() {
    await this.upload?.abort().catch(() => undefined)
  }
}

/**
 * Streams a sealed object out of BACKUPS, handing each authenticated
 * plaintext piece to `onPlaintext`; throws SegmentedAeadError (lib) at the
 * first piece that does not authenticate, and Error when the object is missing.
 */
export async function readSealedObject(
  env: Env,
  tenantId: string,
  key: string,
  identity: string,
  onPlaintext: (piece: Uint8Array) => Promise<void> | void,
) {
  const object = await env.BACKUPS.get(key)
  if (!object) throw new MissingObjectError(key)
  const opener = new SegmentOpener({ identity, keyFor: (keyId) => tenantKeyById(env, tenantId, keyId) })
  const plainHash = createHash('sha256')
  const cipherHash = createHash('sha256')
  let plaintextBytes = 0
  let ciphertextBytes = 0
  const reader = object.body.getReader()
  const take = async (pieces: Uint8Array[]) => {
    for (const piece of pieces) {
      plainHash.update(piece)
      plaintextBytes += piece.length
      await onPlaintext(piece)
    }
  }
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    cipherHash.update(value)
    ciphertextBytes += value.length
    await take(await opener.push(value))
  }
  await take(await opener.finish())
  return {
    keyId: opener.keyId!,
    plaintextBytes,
    ciphertextBytes,
    plaintextSha256: plainHash.digest('hex'),
    ciphertextSha256: cipherHash.digest('hex'),
  } satisfies SealedSummary
}

export class MissingObjectError extends Error {
  constructor(key: string) {
    super(`object missing: ${key}`)
    this.name = 'MissingObjectError'
  }
}
