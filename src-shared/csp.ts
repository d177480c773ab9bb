/**
 * The renderer's Content-Security-Policy, the same for Electron (meta tag) and the web host
 * (header): only our own scripts, no eval, no plugins, no framing, and network access only
 * back to where the page came from (the web host's WebSocket is same-origin) and to the
 * loopback screen bridge.
 * Styles allow 'unsafe-inline' because the terminal (xterm.js) writes <style> elements
 * sized to the font at run time, so no hash can be known in advance; VS Code, which
 * embeds the same terminal, makes the same choice. Scripts stay strict, and React escapes
 * all text, so no page content can add markup to abuse it.
 * connect-src adds WebSockets to loopback (ws://127.0.0.1, any port) for VM screens: in
 * Electron the screen bridge listens on a port picked at start, which a policy baked into
 * the built page cannot name. That opens no other scheme and no other host (no http:, no
 * wss:, no localhost name a DNS answer could move), and the bridge itself opens only with
 * a one-time ticket.
 */
export const RENDERER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self' ws://127.0.0.1:*",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');
