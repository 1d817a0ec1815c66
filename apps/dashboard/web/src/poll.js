// Calls `fn` now and then every `ms` after the previous call finished (calls never overlap, so
// a slow server is not flooded). Returns a function that stops it. Errors go to `onError`
// (default: ignored, the next call tries again) so one failed request does not end the polling.
export function every(ms, fn, onError = () => {}) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    if (stopped) return;
    try {
      await fn();
    } catch (error) {
      if (!stopped) onError(error);
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
