import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { untilWindowEnd, WINDOW_SLOTS } from '../../src/realtime/windowSlots.js';

const slots = suite('staggered window ends');

slots("each slot's windows end on its own grid, a tenth of a window after the slot before", () => {
  const epoch = 1_700_000_000_000;
  for (const window of [100, 20, 250]) {
    for (let slot = 0; slot < WINDOW_SLOTS; slot++) {
      for (let now = epoch - 3 * window; now < epoch + 3 * window; now += 7) {
        const delay = untilWindowEnd(now, epoch, slot, window);
        assert.ok(delay > 0 && delay <= window, `delay ${delay} for slot ${slot} at ${now - epoch}`);
        const end = now + delay - epoch - (slot * window) / WINDOW_SLOTS;
        assert.ok(Math.abs(end - Math.round(end / window) * window) < 1e-6, `end off the grid: ${end}`);
      }
    }
  }
  // With the default window: slot 3 ends 30 ms into each 100 ms, slot 0 at its start.
  assert.is(untilWindowEnd(1_000, 1_000, 3, 100), 30);
  assert.is(untilWindowEnd(1_031, 1_000, 3, 100), 99);
  assert.is(untilWindowEnd(1_000, 1_000, 0, 100), 100);
  assert.is(untilWindowEnd(999, 1_000, 0, 100), 1);
});

slots('a window of 0 holds nothing', () => {
  assert.is(untilWindowEnd(12_345, 1_000, 7, 0), 0);
});

slots.run();
