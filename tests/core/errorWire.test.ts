import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AppError,
  ConcurrencyError,
  ConflictError,
  DomainRuleError,
  errorFromWire,
  errorToWire,
  PayloadTooLargeError,
  UnavailableError,
  ValidationError,
} from '../../src/core/errors.js';

const Wire = suite('errors between threads');

/** What the other thread receives: the wire form through a real structured clone. */
function across(error: unknown): Error {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(errorToWire(error));
  const received = receiveMessageOnPort(port2)!.message;
  port1.close();
  return errorFromWire(received);
}

Wire('each error the store and the parse path throw comes back as its own class, with its parts', () => {
  const issue = { field: 'events[2].id', value: 'x', message: 'already stored', index: 2 };
  const cases: Array<[AppError, new (...args: never[]) => AppError]> = [
    [new ValidationError('bad', [issue]), ValidationError],
    [new DomainRuleError('rule', [issue]), DomainRuleError],
    [new ConflictError('partial retry', [issue]), ConflictError],
    [new PayloadTooLargeError('too big', [issue]), PayloadTooLargeError],
    [new UnavailableError('locked'), UnavailableError],
    [new ConcurrencyError('building-x.b-1', 'no_stream', '3'), ConcurrencyError],
    [new AppError(418, 'teapot', 'short and stout', [issue], { spout: true }), AppError],
  ];
  for (const [error, kind] of cases) {
    const back = across(error) as AppError;
    assert.instance(back, kind, error.code);
    assert.is(back.constructor, error.constructor, error.code);
    assert.is(back.status, error.status);
    assert.is(back.code, error.code);
    assert.is(back.message, error.message);
    assert.equal(back.issues, error.issues);
    assert.equal(back.extra, error.extra);
  }
  const concurrency = across(new ConcurrencyError('s', '4', '7')) as ConcurrencyError;
  assert.equal([concurrency.stream, concurrency.expected, concurrency.actual], ['s', '4', '7']);
});

Wire('anything else comes back as a plain error with its message (a bug, not an answer)', () => {
  const back = across(new TypeError('x is not a function'));
  assert.is(back.constructor, Error);
  assert.not.instance(back, AppError);
  assert.is(back.message, 'x is not a function');
});

Wire.run();
