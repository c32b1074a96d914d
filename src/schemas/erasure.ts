import { z } from '@hono/zod-openapi'

export const ErasureCertificateSchema = z
  .object({
    certificate: z.string().openapi({
      description:
        'A compact JWS (alg EdDSA, Ed25519; typ `erasure-certificate+jwt`) verifiable with the key of that `kid` at /.well-known/jwks.json. ' +
        'Claims: `tenant` {id, slug}, `erased` (D1 rows per table, file objects, backup objects, Durable Objects, whether the tenant key was destroyed), ' +
        '`final_audit_head` (seq and hash of the last audit event before the trail was erased), `erased_at`, and `retention`: ' +
        'Cloudflare keeps 30 days of point-in-time history of D1 and Durable Object storage, so those copies expire rather than vanish at once.',
    }),
  })
  .openapi('ErasureCertificate')

const ErasedSoFarSchema = z.object({
  d1: z.record(z.string(), z.number().int()).openapi({ description: 'Rows erased per table so far.' }),
  files: z.number().int(),
  backups: z.number().int(),
  session_stores: z.number().int(),
  audit_chain: z.number().int(),
  throttles: z.number().int(),
  tenant_key: z.boolean(),
})

export const ErasureProgressSchema = z
  .object({
    status: z.literal('in_progress'),
    tenant_id: z.string(),
    step: z.string().openapi({ description: 'sessions, throttles, files, backups, d1, durable, tenant_key or certificate.' }),
    started_at: z.string(),
    erased: ErasedSoFarSchema,
  })
  .openapi('ErasureProgress', { description: 'A termination too large for one call: the five-minute job finishes it; GET …/certificate answers 404 until then.' })

export const JwksSchema = z
  .object({
    keys: z.array(
      z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), x: z.string(), kid: z.string(), alg: z.literal('EdDSA'), use: z.literal('sig') }),
    ),
  })
  .openapi('Jwks')
