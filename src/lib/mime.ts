function base64(text: string): string {
  let bin = ''
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b)
  return btoa(bin)
}

/** RFC 2047 encoded-word, so Japanese subjects survive every mail system. */
function encodeHeader(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${base64(text)}?=`
}

/**
 * A minimal RFC 5322 text/plain UTF-8 message for the send_email binding.
 * Header values are stripped of CR/LF so no input can inject a header.
 */
export function plainTextMessage(mail: { from: string; to: string; subject: string; body: string; messageId: string }) {
  const clean = (v: string) => v.replace(/[\r\n]+/g, ' ')
  const domain = clean(mail.from).split('@')[1] ?? 'localhost'
  const wrapped = base64(mail.body).replace(/.{76}/g, '$&\r\n')
  return [
    `From: ${clean(mail.from)}`,
    `To: ${clean(mail.to)}`,
    `Subject: ${encodeHeader(clean(mail.subject))}`,
    `Message-ID: <${clean(mail.messageId)}@${domain}>`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=UTF-8',
    'Content-Transfer-Encoding: base64',
    '',
    wrapped,
  ].join('\r\n')
}

