import { defineProvider } from './provider'

/** GE-1/2: the help page the Worker serves itself, in both languages. */
export const helpPage = defineProvider({
  name: 'help',
  ids: ['GE-1/2'],
  async collect() {
    return {
      'GE-1/2': {
        status: 'met',
        value: { path: '/help', languages: ['ja', 'en'] },
        summary: {
          en: 'The help page /help (Japanese and English) explains how to use the service, the supported browsers and operating systems, support hours, contacts, how to report an incident, and the password, second-factor and session rules in force.',
          ja: 'ヘルプページ /help（日本語・英語）で、利用方法、対応ブラウザ・OS、サポート時間、問い合わせ先、障害の報告方法、適用中のパスワード・二要素認証・セッションのルールを案内',
        },
        evidence: { path: '/help', languages: ['ja', 'en'], console: ['/console', '/ops/console'] },
      },
    }
  },
})
