import type { ITerminalOptions } from '@xterm/xterm';

// How every terminal pane draws text. xterm.js makes each row exactly fontSize × lineHeight
// tall and clips it there; at lineHeight 1 a 14 px monospace font gets 16 px rows, which cut
// off what sits below the baseline: underscores vanished, and the tails of g, j, p, q and y.
// 1.2 leaves room for them with the usual monospace fonts.
export const TERMINAL_LOOK = {
  fontSize: 14,
  lineHeight: 1.2,
} as const satisfies ITerminalOptions;
