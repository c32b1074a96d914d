import { z } from '@hono/zod-openapi'

export const RotateQuerySchema = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(100)
    .openapi({ description: 'Keys and legacy secrets handled by this call, 1–200 (default 100); call again while `remaining` > 0.' }),
})

export const RotationResultSchema = z
  .object({
    rewrapped: z.number().int().openapi({ description: 'Data keys re-wrapped under the current master key by this call.' }),
    reencrypted: z.number().int().openapi({ description: 'Legacy (`v1.`) TOTP secrets sealed again under their tenants\u2019 data keys by this call.' }),
    remaining: z.number().int().openapi({ description: 'What is still wrapped under an older master key or sealed in the legacy format; 0 when done.' }),
  })
  .openapi('KeyRotation')

export type RotationResultBody = z.infer<typeof RotationResultSchema>
