import { z } from '@hono/zod-openapi'

const Bilingual = z.object({ en: z.string(), ja: z.string() })

export const SlaStatusSchema = z.enum(['met', 'not_met', 'not_yet_measured', 'organisational']).openapi({
  description:
    '`met`/`not_met`: what the live evidence shows now; `not_yet_measured`: this build has no evidence for the row (never a guessed value); `organisational`: a promise kept by people, with its stated answer.',
})

export const SlaRowSchema = z
  .object({
    id: z.string().openapi({ example: 'SE-13', description: 'The requirement ID as REQUIREMENTS.md writes it (`SE-15/20` covers two checklist rows).' }),
    covers: z.array(z.string()).openapi({ example: ['SE-13'] }),
    area: z.string().openapi({ example: 'SE' }),
    category: z.string().openapi({ example: 'Security' }),
    commitment: z.string().openapi({ description: 'The commitment, in English.' }),
    in_software: z.string().openapi({ description: 'What the software does to keep it.' }),
    status: SlaStatusSchema,
    value: z.unknown().openapi({ description: 'The value in force, machine-readable; null when there is none.' }),
    summary: Bilingual.openapi({ description: 'The value and what backs it, in a sentence.' }),
    evidence: z.record(z.string(), z.unknown()).openapi({ description: 'The live facts read for this row.' }),
    note: Bilingual.nullable().openapi({ description: 'What is missing or worth knowing.' }),
  })
  .openapi('SlaRow')

export const SlaReportSchema = z
  .object({
    scope: z.enum(['tenant', 'platform']),
    tenant_id: z.string().nullable(),
    month: z.string().openapi({ example: '2026-11' }),
    period: z.object({ from: z.string(), until: z.string() }).openapi({ description: 'The month in JST, as UTC instants (until is exclusive).' }),
    generated_at: z.string(),
    counts: z.object({ met: z.number().int(), not_met: z.number().int(), not_yet_measured: z.number().int(), organisational: z.number().int() }),
    rows: z.array(SlaRowSchema),
  })
  .openapi('SlaReport')

export type SlaReport = z.infer<typeof SlaReportSchema>
export type SlaRow = z.infer<typeof SlaRowSchema>

/** `YYYY-MM`, 2000-01 to 2099-12 (the month runs in JST). */
export const SLA_MONTH_PATTERN = /^20\d{2}-(0[1-9]|1[0-2])$/

export const SlaMonthQuerySchema = z
  .string()
  .regex(SLA_MONTH_PATTERN, 'A month as YYYY-MM.')
  .optional()
  .openapi({ example: '2026-11', description: 'The report month in JST (YYYY-MM); default: this month. A month not begun yet is 422.' })

export const ChecklistFormatSchema = z.object({
  format: z.enum(['csv', 'html']).default('csv').openapi({ description: '`csv` (UTF-8 with BOM, for Excel) or `html` (a printable page).' }),
  lang: z.enum(['ja', 'en']).default('ja').openapi({ description: 'Japanese (the seed\u2019s own text) or English.' }),
})
