/** @jsxImportSource hono/jsx */
import type { ServiceStatus } from '../../schemas/operations'
import { formatJst } from '../../services/operations/calendar'

/**
 * The status page for people: plain HTML under the app's strict CSP (no
 * inline script or style, nothing from elsewhere). Every value is escaped
 * by JSX, operators' free text included.
 */
function Span({ from, to }: { from: string; to: string }) {
  return (
    <>
      <time datetime={from}>{formatJst(from)}</time> – <time datetime={to}>{formatJst(to)}</time>
    </>
  )
}

function StatusPage({ s }: { s: ServiceStatus }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Mamori status</title>
      </head>
      <body>
        <header>
          <h1>Mamori status</h1>
          <p>
            Version {s.version} · as of <time datetime={s.generated_at}>{formatJst(s.generated_at)}</time>
          </p>
        </header>
        <main>
          <section>
            <h2>Now</h2>
            {s.maintenance.active ? (
              <p role="status">
                <strong>Under {s.maintenance.kind === 'outage' ? 'a planned outage' : 'maintenance'}</strong>
                {s.maintenance.ends_at ? (
                  <>
                    {' '}until <time datetime={s.maintenance.ends_at}>{formatJst(s.maintenance.ends_at)}</time>
                  </>
                ) : null}
                . {s.maintenance.message}
              </p>
            ) : s.open_incidents.length ? (
              <p role="status">
                <strong>Incident in progress.</strong>
              </p>
            ) : (
              <p role="status">All systems operational.</p>
            )}
          </section>
          <section>
            <h2>Open incidents</h2>
            {s.open_incidents.length ? (
              s.open_incidents.map((i) => (
                <article>
                  <h3>
                    {i.title} ({i.severity})
                  </h3>
                  <p>
                    Since <time datetime={i.opened_at}>{formatJst(i.opened_at)}</time>
                  </p>
                  <ul>
                    {i.updates.map((u) => (
                      <li>
                        <time datetime={u.at}>{formatJst(u.at)}</time>: {u.message}
                      </li>
                    ))}
                  </ul>
                </article>
              ))
            ) : (
              <p>None.</p>
            )}
          </section>
          <section>
            <h2>Scheduled maintenance</h2>
            {s.upcoming_windows.length ? (
              <ul>
                {s.upcoming_windows.map((w) => (
                  <li>
                    {w.kind === 'outage' ? 'Planned outage' : 'Maintenance'}: <Span from={w.starts_at} to={w.ends_at} />
                    {w.message ? ` (${w.message})` : ''}
                  </li>
                ))}
              </ul>
            ) : (
              <p>None scheduled.</p>
            )}
            <p>Standing monthly window (used only when announced):</p>
            <ul>
              {s.standing_windows.map((w) => (
                <li>
                  <Span from={w.starts_at} to={w.ends_at} />
                </li>
              ))}
            </ul>
          </section>
          <section>
            <h2>Announcements</h2>
            {s.announcements.length ? (
              s.announcements.map((a) => (
                <article>
                  <h3>{a.subject}</h3>
                  <p>
                    {a.kind === 'end_of_service' ? 'End of service' : a.kind === 'upgrade' ? 'Upgrade' : 'Notice'}, effective{' '}
                    <time datetime={a.effective_at}>{formatJst(a.effective_at)}</time>
                  </p>
                  {a.body.split(/\r?\n/).map((line) => (
                    <p>{line}</p>
                  ))}
                </article>
              ))
            ) : (
              <p>None.</p>
            )}
          </section>
          <section>
            <h2>Support</h2>
            <p>{s.support.hours}</p>
          </section>
        </main>
      </body>
    </html>
  )
}

export async function renderStatusPage(s: ServiceStatus): Promise<string> {
  return `<!doctype html>${await (<StatusPage s={s} />).toString()}`
}
