import { database } from '../db/client'
import { deliverMail } from '../services/mail/mail'
import { queueExpiryReminders } from '../services/passwords/password-reminders'

/** Five-minute job: queue password-expiry reminders, then deliver (or retry) queued mail. */
export async function mailAndReminders(env: Env, scheduledTime: number) {
  const db = database(env)
  const reminders = await queueExpiryReminders(env, db, scheduledTime)
  const delivery = await deliverMail(env, db)
  console.log(JSON.stringify({ level: 'info', msg: 'mail job', reminders, ...delivery }))
  return { reminders, ...delivery }
}
