/**
 * The one way Hangar reads a stream of newline-separated messages (QMP, the keeper's
 * control socket): feed it chunks, get whole lines. A line longer than maxLine means the
 * peer is broken or hostile; onOverflow is told and the buffer dropped.
 */
export function lineReader(onLine: (line: string) => void, options: { maxLine?: number; onOverflow?: () => void } = {}): (chunk: string) => void {
  const { maxLine = 4 * 1024 * 1024, onOverflow = () => {} } = options;
  let buffer = '';
  return (chunk) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) onLine(line);
    }
    if (buffer.length > maxLine) {
      buffer = '';
      onOverflow();
    }
  };
}
