/**
 * The staggered ends of the live gateway's coalescing windows. Every filter group flushes once per window
 * (`LIVE_COALESCE_MS`), but the groups take turns, round-robin, among `WINDOW_SLOTS` window ends spread evenly
 * over the window: slot k's windows end at `epoch + k/WINDOW_SLOTS x window + n x window`. Flushing all groups
 * at one instant sent every console its message in one burst: the server wrote to all its sockets back to
 * back while ingest requests waited, and each console process then had a queue of its consoles' messages to
 * parse, the last one tens of milliseconds late. In tenths, each burst is a tenth of that.
 */

/** A tenth of a window apart: 10 ms with the default 100 ms window, about what a timer can resolve anyway. */
export const WINDOW_SLOTS = 10;

/**
 * Milliseconds from `now` to the next end of slot `slot`'s window (in (0, window]; 0 when the window is 0, as
 * nothing is held then), on the grid that starts at `epoch`.
 */
export function untilWindowEnd(now: number, epoch: number, slot: number, windowMs: number): number {
  if (windowMs <= 0) return 0;
  const sinceEnd = (now - epoch - (slot * windowMs) / WINDOW_SLOTS) % windowMs;
  return windowMs - (sinceEnd < 0 ? sinceEnd + windowMs : sinceEnd);
}
