// The application menu, as data: the usual items and shortcuts of a Linux desktop app.
// The Electron shell turns it into a native menu; roles are Electron's built-in actions.

export type MenuAction = 'newVm' | 'openIso' | 'showLibrary' | 'showHost' | 'forgetQuitChoice';
export type MenuRole = 'quit' | 'undo' | 'redo' | 'cut' | 'copy' | 'paste' | 'selectAll' | 'resetZoom' | 'zoomIn' | 'zoomOut' | 'togglefullscreen' | 'about';

export type MenuItemSpec = { type: 'separator' } | { label: string; accelerator?: string; role?: MenuRole; action?: MenuAction; enabled?: boolean };

export interface MenuSpec {
  label: string;
  items: MenuItemSpec[];
}

export function menuSpec({ quitChoiceRemembered }: { quitChoiceRemembered: boolean }): MenuSpec[] {
  return [
    {
      label: '&File',
      items: [
        { label: 'New Virtual Machine…', accelerator: 'CmdOrCtrl+N', action: 'newVm' },
        { label: 'Open ISO…', accelerator: 'CmdOrCtrl+O', action: 'openIso' },
        { type: 'separator' },
        { label: 'Ask Again What to Do With Running VMs on Quit', action: 'forgetQuitChoice', enabled: quitChoiceRemembered },
        { type: 'separator' },
        { label: 'Quit', accelerator: 'CmdOrCtrl+Q', role: 'quit' },
      ],
    },
    {
      label: '&Edit',
      items: [
        { label: 'Undo', accelerator: 'CmdOrCtrl+Z', role: 'undo' },
        { label: 'Redo', accelerator: 'CmdOrCtrl+Shift+Z', role: 'redo' },
        { type: 'separator' },
        { label: 'Cut', accelerator: 'CmdOrCtrl+X', role: 'cut' },
        { label: 'Copy', accelerator: 'CmdOrCtrl+C', role: 'copy' },
        { label: 'Paste', accelerator: 'CmdOrCtrl+V', role: 'paste' },
        { label: 'Select All', accelerator: 'CmdOrCtrl+A', role: 'selectAll' },
      ],
    },
    {
      label: '&View',
      items: [
        { label: 'Library', accelerator: 'CmdOrCtrl+1', action: 'showLibrary' },
        { label: 'Host Check', accelerator: 'CmdOrCtrl+2', action: 'showHost' },
        { type: 'separator' },
        { label: 'Actual Size', accelerator: 'CmdOrCtrl+0', role: 'resetZoom' },
        { label: 'Zoom In', accelerator: 'CmdOrCtrl+Plus', role: 'zoomIn' },
        { label: 'Zoom Out', accelerator: 'CmdOrCtrl+-', role: 'zoomOut' },
        { type: 'separator' },
        { label: 'Full Screen', accelerator: 'F11', role: 'togglefullscreen' },
      ],
    },
    { label: '&Help', items: [{ label: 'About Hangar', role: 'about' }] },
  ];
}
