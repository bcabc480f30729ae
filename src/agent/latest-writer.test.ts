import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { createLatestWriter } from './latest-writer.js';

/** A stream that accepts `capacity` writes, then reports full until drained. */
function fakeCall(capacity: number) {
  const events = new EventEmitter();
  const written: Buffer[] = [];
  let room = capacity;
  return {
    written,
    write(message: unknown) {
      written.push(message as Buffer);
      room--;
      return room > 0;
    },
    once: (event: 'drain', listener: () => void) => events.once(event, listener),
    drain(n: number) {
      room = n;
      events.emit('drain');
    },
  };
}

test('a stream that stops reading holds only the newest message', () => {
  const call = fakeCall(2);
  const writer = createLatestWriter(call);
  const msgs = Array.from({ length: 1000 }, (_, i) => Buffer.from(String(i)));
  for (const m of msgs) writer.write(m);
  assert.equal(call.written.length, 2);
  assert.ok(writer.blocked());
  call.drain(10);
  assert.equal(call.written.length, 3);
  assert.equal(call.written[2]?.toString(), '999');
  assert.ok(!writer.blocked());
});

test('the same shared response is not written twice in a row', () => {
  const call = fakeCall(100);
  const writer = createLatestWriter(call);
  const m = Buffer.from('x');
  writer.write(m);
  writer.write(m);
  writer.write(Buffer.from('y'));
  assert.equal(call.written.length, 2);
});
