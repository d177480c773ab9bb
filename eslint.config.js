import { builtinModules } from 'node:module';
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// The layering of the house, enforced: only src-main/electron touches Electron; the
// renderer sees only the shared contract; the contract itself uses neither Node nor the DOM.

const nodeBuiltins = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

const noElectron = { name: 'electron', message: 'Only src-main/electron/ may import Electron; the rest of src-main runs under plain Node.' };
const noRenderer = { group: ['**/src-renderer', '**/src-renderer/**'], message: 'The main process serves the renderer through the contract; it never imports it.' };

// The floors of src-main (ARCHITECTURE.md): a request enters at a door and goes down, never
// up. Each folder may import the folders listed for it (and itself, util/ and src-shared);
// an import of any other floor is refused. Imports are relative, so a floor is matched by
// its folder name after the ../ that climb out of the importing folder.
const FLOORS = {
  electron: ['api', 'consoles', 'desktop'],
  web: ['api', 'consoles', 'vms'],
  cli: ['api', 'web'],
  desktop: [],
  api: ['connection', 'consoles', 'host', 'media', 'qemu', 'vms'],
  connection: ['qemu', 'consoles', 'media', 'host', 'vms'],
  qemu: ['consoles', 'vms'],
  consoles: ['vms'],
  media: [],
  host: [],
  vms: [],
  util: [],
};
const floorRules = Object.entries(FLOORS).map(([floor, allowed]) => {
  const forbidden = Object.keys(FLOORS).filter((other) => other !== floor && other !== 'util' && !allowed.includes(other));
  const patterns = [noRenderer];
  if (forbidden.length > 0) {
    patterns.push({ regex: `^(\\.\\./)+(${forbidden.join('|')})(/|$)`, message: `src-main/${floor}/ may import only ${[...allowed, 'util'].join(', ')} of src-main (the floors in ARCHITECTURE.md): a room never reaches up.` });
  }
  const paths = floor === 'electron' ? [] : [noElectron];
  return { files: [`src-main/${floor}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { paths, patterns }] } };
});
const noNode = nodeBuiltins.map((name) => ({ name, message: 'This layer must not use Node APIs.' }));

export default tseslint.config(
  { ignores: ['out/', 'dist/', 'node_modules/', 'test-results/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.{ts,tsx,js}'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      'no-restricted-imports': ['error', { paths: [noElectron] }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  ...floorRules,
  {
    files: ['src-renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          paths: [noElectron, ...noNode],
          patterns: [{ group: ['**/src-main', '**/src-main/**'], message: 'The renderer talks to the main process only through the contract in src-shared.' }],
        },
      ],
    },
  },
  {
    files: ['src-shared/**/*.ts'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [noElectron, ...noNode],
          patterns: [{ group: ['**/src-main', '**/src-main/**', '**/src-renderer', '**/src-renderer/**'], message: 'The contract depends on nothing but zod.' }],
        },
      ],
      'no-restricted-globals': ['error', ...['window', 'document', 'navigator', 'localStorage', 'process', 'Buffer', 'require', '__dirname'].map((name) => ({ name, message: 'The contract must run anywhere: no Node or DOM globals.' }))],
    },
  },
);
