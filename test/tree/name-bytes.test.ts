import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeName, encodeName, printableName } from '../../src/tree/name-bytes.ts';

/** Bytes that are often UTF-8, often nearly so: the boundaries of table 3-7 and stray bytes. */
const nameBytes = fc.oneof(
  fc.uint8Array({ maxLength: 24 }),
  fc
    .array(
      fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 4 }).map((s) => Buffer.from(s)),
        fc.constantFrom(
          ...[
            [0x80],
            [0xbf],
            [0xc0, 0x80],
            [0xc2],
            [0xe0, 0x80, 0x80],
            [0xe0, 0xa0],
            [0xed, 0xa0, 0x80],
            [0xef, 0xbf, 0xbd],
            [0xf0, 0x90, 0x80],
            [0xf4, 0x90, 0x80, 0x80],
            [0xf5],
            [0xff],
          ].map((b) => Buffer.from(b)),
        ),
      ),
      { maxLength: 8 },
    )
    .map((parts) => Buffer.concat(parts)),
);

describe('file names as bytes (surrogateescape)', () => {
  it('every byte string comes back whole from its name, so two names never become one', () => {
    fc.assert(
      fc.property(nameBytes, nameBytes, (a, b) => {
        const buf = Buffer.from(a);
        assert.ok(encodeName(decodeName(buf)).equals(buf), buf.toString('hex'));
        if (!buf.equals(Buffer.from(b))) assert.notEqual(decodeName(buf), decodeName(Buffer.from(b)));
      }),
      { numRuns: 3000 },
    );
  });

  it('decodes well-formed UTF-8 as UTF-8, and each other byte as U+DC80–U+DCFF, as Python does', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (text) => assert.equal(decodeName(Buffer.from(text)), text)));
    // Python: b'a\xc3\xa9\xff\xed\xa0\x80\xf0\x9f\x98\x80\xe0\x80'.decode('utf-8', 'surrogateescape')
    const bytes = Buffer.from('61c3a9ffeda080f09f9880e080', 'hex');
    assert.equal(decodeName(bytes), 'a\u00e9\udcff\udced\udca0\udc80\u{1f600}\udce0\udc80');
    assert.equal(decodeName(bytes, 1, 3), '\u00e9');
    assert.equal(printableName(decodeName(bytes)), 'a\u00e9\\xff\\xed\\xa0\\x80\u{1f600}\\xe0\\x80');
  });
});
