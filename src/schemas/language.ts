import { z } from '@hono/zod-openapi'
import { LOCALES } from '../i18n/locale'

/**
 * A language Mamori writes mail in: `ja` (the default) or `en`. Inline rather
 * than a named component, so its nullable uses stay plain enums in the document.
 */
export const LanguageSchema = z.enum(LOCALES)
