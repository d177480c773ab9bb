import { randomBytes, timingSafeEqual } from 'node:crypto';

// Who may use `hangar web`. It prints an address with a one-time token; the first load of
// that address trades it for a session cookie (HttpOnly: no script reads it; SameSite=Strict:
// no other site's page sends it) and is sent on to "/", so the token leaves the address bar
// and history. After that the address opens nothing: a token in an address travels
// (history, session restore, /proc/PID/cmdline of the browser it was handed to), so it must
// stop being worth anything. The page, the API WebSocket and uploads then go by the cookie.
//
// A browser keeps cookies per host name, not per port: the name carries the port so two
// `hangar web` on this machine do not overwrite each other's session.

export const SESSION_COOKIE_PREFIX = 'hangar_session_';

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie in a Cookie header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return null;
}

export class WebSession {
  /** Null once spent. */
  private token: string | null;
  /** The session's cookie value; one session per `hangar web`, shared by the tabs of the browser that has it. */
  private session: string | null = null;

  constructor(
    private readonly cookieName: () => string,
    token = randomBytes(24).toString('base64url'),
  ) {
    this.token = token;
  }

  /** The one-time token, for the printed address; null once it was used. */
  get oneTimeToken(): string | null {
    return this.token;
  }

  /** Trades the one-time token for the session: the Set-Cookie header value, or null for a wrong or spent token. */
  redeem(given: string): string | null {
    if (this.token === null || !sameSecret(given, this.token)) return null;
    this.token = null;
    this.session = randomBytes(32).toString('base64url');
    return `${this.cookieName()}=${this.session}; HttpOnly; SameSite=Strict; Path=/`;
  }

  /** True when a request's Cookie header carries the session. */
  admits(cookieHeader: string | undefined): boolean {
    const given = cookieValue(cookieHeader, this.cookieName());
    return this.session !== null && given !== null && sameSecret(given, this.session);
  }
}
