import { z } from '@hono/zod-openapi'
import { LOCALES } from '../i18n/locale'

/** A language Mamori writes mail in: `ja` (the default) or `en`. */
export const LanguageSchema = z.enum(LOCALES).openapi('Language', { description: 'The language of mail: `ja` (Japanese, the default) or `en` (English).' })
