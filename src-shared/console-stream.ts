// A viewer of a serial console gets its scrollback (ending at a stream position) and live
// chunks (each starting at one). Chunks may arrive before the scrollback does, and overlap
// it; this keeps a viewer's output whole and without repeats. Used by every viewer: the
// window's console pane, `hangar console`, the tests.

export class ConsoleCursor {
  /** Stream position up to which the viewer has the bytes; null until the scrollback came. */
  private end: number | null = null;
  private held: { data: Uint8Array; offset: number }[] = [];

  /** A live chunk: returns what to show now (nothing while the scrollback is awaited). */
  receive(data: Uint8Array, offset: number): Uint8Array[] {
    if (this.end === null) {
      this.held.push({ data, offset });
      return [];
    }
    const from = Math.max(0, this.end - offset);
    if (from >= data.length) return [];
    this.end = offset + data.length;
    return [from === 0 ? data : data.subarray(from)];
  }

  /** The scrollback: returns it, then whatever live chunks came early and are new. */
  start(scrollback: Uint8Array, end: number): Uint8Array[] {
    this.end = end;
    const shown = scrollback.length > 0 ? [scrollback] : [];
    for (const chunk of this.held.splice(0)) shown.push(...this.receive(chunk.data, chunk.offset));
    return shown;
  }
}
