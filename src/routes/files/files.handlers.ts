import { database } from '../../db/client'
import { deleteFile, downloadFile, fileInfo, listFiles, putFile } from '../../services/data/files'
import { requestMeta, tenantCaller } from '../context'
import type { AppRouteHandler } from '../router'
import type { DownloadRoute, ListRoute, RemoveRoute, UploadRoute } from './files.routes'

export const upload: AppRouteHandler<UploadRoute> = async (c) => {
  const declared = c.req.header('Content-Length')
  const length = declared !== undefined && /^\d{1,12}$/.test(declared) ? Number(declared) : null
  const contentType = (c.req.header('Content-Type') ?? 'application/octet-stream').slice(0, 200)
  const { file, replaced } = await putFile(
    c.env,
    database(c.env),
    tenantCaller(c),
    { name: c.req.valid('param').file, body: c.req.raw.body, length, contentType },
    requestMeta(c),
  )
  return replaced ? c.json(file, 200) : c.json(file, 201)
}

export const list: AppRouteHandler<ListRoute> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  return c.json(await listFiles(database(c.env), c.var.principal.tenantId!, limit, cursor), 200)
}

/**
 * A download is bytes to save, never a page or a script of our origin: the
 * uploader's Content-Type (which could say text/html or text/javascript)
 * stays in the metadata, the browser must not sniff one, and a download
 * opened anyway runs sandboxed in an origin of its own.
 */
export function fileHeaders(file: { name: string; size_bytes: number }) {
  return {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(file.size_bytes),
    // RFC 6266/8187: the name survives in any language, and the browser saves instead of rendering.
    'Content-Disposition': `attachment; filename*=UTF-8''${rfc8187(file.name)}`,
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': 'sandbox',
    'Cache-Control': 'no-store',
  }
}

export const download: AppRouteHandler<DownloadRoute> = async (c) => {
  const id = c.req.valid('param').file
  // HEAD (routed here by Hono) sends no content, so it is neither fetched from R2 nor audited as an extraction.
  if (c.req.method === 'HEAD') {
    return c.body(null, 200, fileHeaders(await fileInfo(database(c.env), c.var.principal.tenantId!, id)))
  }
  const { file, body } = await downloadFile(c.env, database(c.env), tenantCaller(c), id, requestMeta(c))
  return c.body(body, 200, fileHeaders(file))
}

/** RFC 8187 value encoding: encodeURIComponent leaves ' ( ) * alone, which the attribute grammar forbids. */
function rfc8187(name: string) {
  return encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
}

export const remove: AppRouteHandler<RemoveRoute> = async (c) => {
  await deleteFile(c.env, database(c.env), tenantCaller(c), c.req.valid('param').file, requestMeta(c))
  return c.body(null, 204)
}
