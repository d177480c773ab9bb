import { FitAddon } from '@xterm/addon-fit';
import { Terminal, type ITerminalOptions } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { attachClipboardKeys } from '../../components/terminal-clipboard';
import { TERMINAL_LOOK } from '../../components/terminal-look';

/** An xterm.js terminal in `element`, as big as the element (it follows its size), with copy and paste keys. */
export function openXtermView(element: HTMLElement, options: ITerminalOptions): { terminal: Terminal; dispose(): void } {
  const terminal = new Terminal({ ...TERMINAL_LOOK, scrollback: 5000, ...options });
  const fit = new FitAddon();
  terminal.loadAddon(fit);
  terminal.open(element);
  attachClipboardKeys(terminal);
  fit.fit();
  const resize = new ResizeObserver(() => fit.fit());
  resize.observe(element);
  return {
    terminal,
    dispose() {
      resize.disconnect();
      terminal.dispose();
    },
  };
}
