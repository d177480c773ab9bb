/**
 * The renderer's Content-Security-Policy, the same for Electron (meta tag) and the web host
 * (header): only our own scripts and styles, no eval, no plugins, no framing, and network
 * access only back to where the page came from (the web host's WebSocket is same-origin).
 */
export const RENDERER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');
