/**
 * Strict UTF-8 of the JWT requests' audiences, read from the raw request bytes (issue 15).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INVALID_UTF8, invalidUtf8Fields, invalidUtf8Of, markingInvalidUtf8 } from './utf8-fields.js';

const AUDIENCE = new Map([[1, 'audience']]);
const field = (n: number, bytes: number[]) => [(n << 3) | 2, bytes.length, ...bytes];

test('an invalid UTF-8 audience is found among valid ones and other fields', () => {
  const message = Uint8Array.from([...field(1, [0x61]), 0x18, 0x96, 0x01, ...field(2, [0xff]), ...field(1, [0xe2, 0x82])]);
  assert.deepEqual(invalidUtf8Fields(message, AUDIENCE), ['audience'], 'field 2 is not checked; a truncated sequence in field 1 is');
  assert.deepEqual(invalidUtf8Fields(Uint8Array.from([...field(1, [0xe2, 0x82, 0xac]), ...field(1, [])]), AUDIENCE), []);
  // Overlong encodings and surrogates are not UTF-8 either.
  assert.deepEqual(invalidUtf8Fields(Uint8Array.from(field(1, [0xc0, 0xaf])), AUDIENCE), ['audience']);
  assert.deepEqual(invalidUtf8Fields(Uint8Array.from(field(1, [0xed, 0xa0, 0x80])), AUDIENCE), ['audience']);
});

test('a message it cannot walk is left to protobufjs', () => {
  for (const bytes of [[0x0a, 0x05, 0xff], [0x0b], [0x0a], [0x09, 1, 2]]) {
    assert.deepEqual(invalidUtf8Fields(Uint8Array.from(bytes), AUDIENCE), [], JSON.stringify(bytes));
  }
});

test('the decoded request carries the mark, hidden from JSON and spreads', () => {
  const decode = markingInvalidUtf8(() => ({ audience: ['\ufffd'] }), AUDIENCE);
  const marked = decode(Buffer.from(field(1, [0xff])));
  assert.deepEqual(invalidUtf8Of(marked), ['audience']);
  assert.equal(JSON.stringify(marked), '{"audience":["\ufffd"]}');
  assert.equal(INVALID_UTF8 in { ...marked }, false);
  assert.deepEqual(invalidUtf8Of(decode(Buffer.from(field(1, [0x61])))), []);
});
