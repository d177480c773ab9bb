import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const builtRendererDir = path.join(repoRoot, 'out', 'renderer');
export const hangarBin = path.join(repoRoot, 'bin', 'hangar.js');
export const testResultsDir = path.join(repoRoot, 'test-results');
