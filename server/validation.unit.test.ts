import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cursor, text } from './validation';

const name = text(1, 80);
const ok = (s: string) => name.safeParse(s).success;

describe('names', () => {
  it('refuse bidi overrides and isolates, zero-width and C1 control characters', () => {
    for (const bad of [
      'evil\u202Egnp.exe',
      'a\u2066b\u2069',
      'a\u200Fb',
      'zero\u200Bwidth',
      'word\u2060joiner',
      'mid\uFEFFbom',
      'soft\u00ADhyphen',
      'c1\u0085control',
      'c1\u009Bcsi',
      'nul\u0000',
      'line\u2028sep',
      'lone\u200Djoiner',
      'hangul\u3164filler',
      'tag\u{E0041}s',
    ])
      assert.equal(ok(bad), false, JSON.stringify(bad));
  });

  it('keep real names: accents, scripts that need ZWNJ, emoji sequences, flags', () => {
    for (const good of [
      'Zoë Ångström',
      'ñandú-ümlaut-中文-עברית',
      'می\u200Cخواهم', // Persian, ZWNJ after an Arabic-script letter
      'Family 👨\u200D👩\u200D👧',
      'Love ❤\uFE0F',
      'Scotland 🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}',
    ])
      assert.equal(ok(good), true, JSON.stringify(good));
  });

  it('are NFC-normalized and trimmed', () => {
    assert.equal(name.parse('  Zoe\u0308  '), 'Zoë');
  });
});

describe('cursors', () => {
  it('are bounded to xid8 and bigint', () => {
    assert.equal(Cursor.safeParse('18446744073709551615:9007199254740991').success, true);
    assert.equal(Cursor.safeParse('18446744073709551616:1').success, false, 'xid8 overflow');
    assert.equal(Cursor.safeParse('99999999999999999999:1').success, false, '20 digits');
    assert.equal(Cursor.safeParse('1:999999999999999999').success, false, 'beyond 2^53');
    assert.equal(Cursor.safeParse('1:2:3').success, false);
    assert.equal(Cursor.safeParse('0:0').success, true);
  });
});
