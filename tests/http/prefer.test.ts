import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { returnPreference } from '../../src/http/prefer.js';

test('the return preference of a Prefer header, as RFC 7240 spells it', () => {
  const cases: Array<[string | undefined, 'minimal' | 'representation' | undefined]> = [
    [undefined, undefined],
    ['', undefined],
    ['return=minimal', 'minimal'],
    ['  Return = "Minimal" ', 'minimal'],
    ['respond-async, wait=10, return=minimal; foo=bar', 'minimal'],
    ['return=representation', 'representation'],
    // the first return preference counts; an unknown value is ignored, not an error
    ['return=representation, return=minimal', 'representation'],
    ['return=everything', undefined],
    ['wait=5', undefined],
    ['returns=minimal', undefined],
    ['handling=strict; return=minimal', undefined],
  ];
  for (const [header, expected] of cases) assert.is(returnPreference(header), expected, String(header));
});

test.run();
