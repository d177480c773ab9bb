// One read for many askers. Calls that arrive while a read runs do not start their own:
// they share the next one, which starts when the running read ends. So every caller gets
// an answer read after it asked (a VM created just before a listVms is in its answer),
// and however many callers there are, one read runs at a time and at most one more is due.

export function singleFlight<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  let next: Promise<T> | null = null;
  const start = (): Promise<T> => {
    const current = read().finally(() => {
      if (running === current) running = null;
    });
    running = current;
    return current;
  };
  const settled = (): void => {};
  return () => {
    if (!running) return start();
    next ??= running.then(settled, settled).then(() => {
      next = null;
      return running ?? start();
    });
    return next;
  };
}
