import { z } from 'zod';

/**
 * Human text fields (names of people, organizations, claws, tokens). What a name may not hold:
 * - control characters, C0 and C1 (PostgreSQL text cannot hold NUL, and none belongs in a name);
 * - line and paragraph separators (names are single-line);
 * - bidirectional controls (U+202A–U+202E, U+2066–U+2069, LRM/RLM/ALM): they reorder what a
 *   reader sees ("Trojan Source"), so a name could display as someone else's;
 * - invisible format characters: zero-width space, word joiner, BOM, soft hyphen, fillers,
 *   invisible operators, interlinear annotation, shorthand controls, unassigned-looking tag
 *   characters, and variation selectors other than the emoji presentation selector.
 * Kept because real names and emoji need them: ZWJ between two emoji (family, profession
 * sequences), ZWNJ after a letter of a script whose spelling uses it (Persian, Indic scripts),
 * VS16 (emoji presentation), and tag characters right after the black flag (subdivision flags).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// Combining characters in the class are the point (variation selectors, the grapheme joiner).
const INVISIBLE =
  // eslint-disable-next-line no-misleading-character-class
  /[\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b\u2060-\u2064\u206a-\u206f\u3164\ufe00-\ufe0e\ufeff\uffa0\ufff9-\ufffb\u{1bca0}-\u{1bca3}\u{1d173}-\u{1d17a}\u{e0001}\u{e0100}-\u{e01ef}]/u;
const ZWJ_ALONE = /(?<!\p{Extended_Pictographic}\ufe0f?)\u200d|\u200d(?!\p{Extended_Pictographic})/u;
const ZWNJ_ALONE =
  /(?<![\p{Script=Arabic}\p{Script=Syriac}\p{Script=Devanagari}\p{Script=Bengali}\p{Script=Gurmukhi}\p{Script=Gujarati}\p{Script=Oriya}\p{Script=Tamil}\p{Script=Telugu}\p{Script=Kannada}\p{Script=Malayalam}\p{Script=Sinhala}\p{M}])\u200c/u;
const TAG = /[\u{e0020}-\u{e007f}]/u;
const TAG_IN_FLAG = /\u{1f3f4}[\u{e0020}-\u{e007e}]+\u{e007f}/gu;

/** Why `s` is not a safe single-line name, or null. */
export function unsafeNameReason(s: string): string | null {
  if (CONTROL.test(s)) return 'must not contain control characters';
  if (BIDI.test(s)) return 'must not contain characters that change the text direction';
  if (INVISIBLE.test(s) || ZWJ_ALONE.test(s) || ZWNJ_ALONE.test(s) || TAG.test(s.replace(TAG_IN_FLAG, '')))
    return 'must not contain invisible characters';
  return null;
}

/** A trimmed, NFC-normalized, single-line human text field between `min` and `max` characters. */
export const text = (min: number, max: number) =>
  z
    .string()
    .transform((s) => s.normalize('NFC').trim())
    .pipe(
      z
        .string()
        .min(min, min === 1 ? 'is required' : `must be at least ${min} characters`)
        .max(max, `must be at most ${max} characters`)
        .superRefine((s, ctx) => {
          const why = unsafeNameReason(s);
          if (why) ctx.addIssue({ code: 'custom', message: why });
        }),
    );

/** xid8 is an unsigned 64-bit integer; global positions are bigint (and stay below 2^53 here). */
const XID8_MAX = 18_446_744_073_709_551_615n;
const POSITION_MAX = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A live subscription's resume cursor, `<transaction id>:<global position>` (events/read.ts),
 * bounded to what the database types hold: out of range is a BAD_REQUEST, not a database error.
 */
export const Cursor = z
  .string()
  .max(64)
  .regex(/^\d{1,20}:\d{1,18}$/, 'must be a cursor this server sent')
  .refine((c) => {
    const [tx, pos] = c.split(':') as [string, string];
    return BigInt(tx) <= XID8_MAX && BigInt(pos) <= POSITION_MAX;
  }, 'is out of range');
