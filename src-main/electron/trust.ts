// Which frames may call the API: only the app's own page, as the top frame. A page that
// was somehow navigated elsewhere, or an embedded frame, gets UNAUTHORIZED.

export interface SenderFrame {
  url: string;
  parent: unknown;
}

export function isTrustedFrame(frame: SenderFrame | null | undefined, rendererUrl: string): boolean {
  if (!frame || frame.parent) return false;
  let sender: URL;
  let trusted: URL;
  try {
    sender = new URL(frame.url);
    trusted = new URL(rendererUrl);
  } catch {
    return false;
  }
  // file:// URLs all share one origin, so the path must match too.
  return sender.protocol === trusted.protocol && sender.host === trusted.host && sender.pathname === trusted.pathname;
}

/**
 * The Origin headers the app's own page sends when it opens a WebSocket (the screen
 * bridge): its origin, or for a file:// page what Chromium sends for it ("file://", and
 * "null" for an opaque origin). The one-time ticket is what secures the bridge; this
 * only keeps other pages out.
 */
export function pageOrigins(rendererUrl: string): string[] {
  const url = new URL(rendererUrl);
  return url.protocol === 'file:' ? ['file://', 'null'] : [url.origin];
}
