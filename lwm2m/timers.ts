/** Wall-clock timers for key expiry. */

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls fn at wall time `atMs` (re-arming past setTimeout's 24.8-day limit); the timer never holds the process. */
export function callAt(atMs: number, now: () => number, fn: () => void): () => void {
  let t: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const d = atMs - now();
    if (d <= 0) {
      fn();
      return;
    }
    t = setTimeout(arm, Math.min(d, MAX_TIMER_MS));
    t.unref();
  };
  arm();
  return () => clearTimeout(t);
}
