import http from 'node:http';

// What a browser does with the address `hangar web` prints: loads it once and keeps the
// session cookie it is given. For tests that talk to the web host without a browser.

export interface WebSessionCookie {
  name: string;
  value: string;
  /** `name=value`, for a Cookie header. */
  header: string;
}

/** Loads the one-time address and returns the session cookie; throws when the host does not hand one out. */
export function openWebSession(url: string): Promise<WebSessionCookie> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false }, (response) => {
      response.resume();
      const setCookie = response.headers['set-cookie']?.[0] ?? '';
      const pair = /^([^=;\s]+)=([^;\s]+)/.exec(setCookie);
      if (response.statusCode !== 303 || !pair) {
        reject(new Error(`Loading ${url} gave HTTP ${response.statusCode} and Set-Cookie "${setCookie}", not a session.`));
        return;
      }
      const [, name = '', value = ''] = pair;
      resolve({ name, value, header: `${name}=${value}` });
    });
    request.on('error', reject);
  });
}
