import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../../../src-main/util/process';

// Whether a process runs: a killed keeper that nobody has reaped yet (a zombie) does not, or
// its orphaned QEMU would be taken for a VM whose keeper is merely busy.

describe('isProcessAlive', () => {
  it('says yes for a running process and no for a pid that is gone or invalid', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(0)).toBe(false);
    expect(isProcessAlive(-1)).toBe(false);
    expect(isProcessAlive(2 ** 22 + 1)).toBe(false);
  });

  it('says no for a zombie: ended, but not yet reaped by its parent', async () => {
    // sh starts a child that ends a second later, then becomes sleep, which never reaps it. The
    // child must still run when sh execs: sh reaps children that have already ended before it
    // runs its next command, and the zombie would be gone.
    const parent = spawn('sh', ['-c', 'sleep 1 & echo $!; exec sleep 120'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = await new Promise<number>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
      await expect.poll(() => isProcessAlive(zombie), { timeout: 10_000 }).toBe(false);
      // It still has its /proc entry (kill(0) alone would call it alive).
      expect(() => process.kill(zombie, 0)).not.toThrow();
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
