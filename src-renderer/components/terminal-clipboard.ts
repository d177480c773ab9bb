import type { Terminal } from '@xterm/xterm';

// Copy and paste in a terminal pane, as Linux terminals do: Ctrl+Shift+C copies the
// selection, Ctrl+Shift+V pastes (the browser's own paste event, which xterm.js takes).
// Plain Ctrl+C and Ctrl+V go to the program inside, as they should.

export function attachClipboardKeys(terminal: Terminal): void {
  terminal.attachCustomKeyEventHandler((event) => {
    if (event.type === 'keydown' && event.ctrlKey && event.shiftKey && event.code === 'KeyC') {
      void copySelection(terminal);
      return false;
    }
    return !(event.ctrlKey && event.shiftKey && event.code === 'KeyV');
  });
}

export async function copySelection(terminal: Terminal): Promise<void> {
  if (terminal.hasSelection()) await navigator.clipboard.writeText(terminal.getSelection()).catch(() => {});
}

export async function pasteInto(terminal: Terminal): Promise<void> {
  const text = await navigator.clipboard.readText();
  terminal.paste(text);
  terminal.focus();
}
