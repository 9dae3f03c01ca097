import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isConnectionError } from './errors';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isConnectionError: outages to wait out, not statements to give up on', () => {
  it('recognizes what a restart or a lost connection looks like', () => {
    for (const err of [
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout'),
      new Error('Client has encountered a connection error and is not queryable'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('connection failure', '08006'),
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], ''),
      new Error('wrapped', { cause: withCode('read ECONNRESET', 'ECONNRESET') }),
    ])
      assert.equal(isConnectionError(err), true, err.message);
  });

  it('leaves refusals, timeouts of a statement and bugs alone', () => {
    for (const err of [
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('canceling statement due to statement timeout', '57014'),
      withCode('permission denied for table events', '42501'),
      new TypeError('x is not a function'),
      'Connection terminated unexpectedly',
      null,
    ])
      assert.equal(isConnectionError(err), false, String(err));
  });
});
