import { describe, expect, it } from 'vitest';
import { singleFlight } from '../../../src-main/api/single-flight';

// listVms reads the whole library; a client firing thousands of them at once must cost
// one read at a time, and still never get an answer read before it asked.

/** A read that counts its runs and ends only when the test says so. */
function controlledRead(): { read: () => Promise<number>; runs: () => number; running: () => number; finish: (error?: Error) => void } {
  let runs = 0;
  let running = 0;
  const ends: ((error?: Error) => void)[] = [];
  return {
    read: () =>
      new Promise<number>((resolve, reject) => {
        runs++;
        running++;
        const run = runs;
        ends.push((error) => {
          running--;
          if (error) reject(error);
          else resolve(run);
        });
      }),
    runs: () => runs,
    running: () => running,
    finish: (error) => ends.shift()?.(error),
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('singleFlight', () => {
  it('runs one read for many concurrent callers, and one more for all who came while it ran', async () => {
    const source = controlledRead();
    const list = singleFlight(source.read);
    const first = list();
    const during = Array.from({ length: 1000 }, () => list());
    expect(source.runs()).toBe(1);
    source.finish();
    await expect(first).resolves.toBe(1);
    await tick();
    // Those who asked while read 1 ran get read 2, which began after they asked.
    expect(source.runs()).toBe(2);
    expect(source.running()).toBe(1);
    source.finish();
    await expect(Promise.all(during)).resolves.toEqual(during.map(() => 2));
    expect(source.runs()).toBe(2);
  });

  it('never runs two reads at once', async () => {
    const source = controlledRead();
    const list = singleFlight(source.read);
    const answers: Promise<number>[] = [];
    let most = 0;
    for (let round = 0; round < 5; round++) {
      for (let caller = 0; caller < 10; caller++) answers.push(list());
      most = Math.max(most, source.running());
      source.finish();
      await tick();
    }
    while (source.running() > 0) {
      source.finish();
      await tick();
    }
    await Promise.all(answers);
    expect(most).toBe(1);
    expect(source.runs()).toBeLessThanOrEqual(6);
  });

  it('gives a failure to the callers of that read only: those who waited get the next read', async () => {
    const source = controlledRead();
    const list = singleFlight(source.read);
    const failing = list();
    const waiting = list();
    source.finish(new Error('disk gone'));
    await expect(failing).rejects.toThrow('disk gone');
    await tick();
    expect(source.runs()).toBe(2);
    source.finish();
    await expect(waiting).resolves.toBe(2);
    // Nothing sticks: a later call reads again.
    const later = list();
    expect(source.runs()).toBe(3);
    source.finish();
    await expect(later).resolves.toBe(3);
  });
});
