import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, redactCredentials } from './log';

describe('log lines', () => {
  it('never carry a URL password or a password= pair, whatever a caller passes', () => {
    const lines: string[] = [];
    const log = createLogger('info', {}, (l) => lines.push(l));
    log.error('db failed', {
      error: 'connect ECONNREFUSED postgres://claws:s3cr3t-pw@db:5432/claws',
      detail: 'host=db password=hunter2 user=claws',
    });
    assert.equal(lines.length, 1);
    assert.doesNotMatch(lines[0]!, /s3cr3t-pw|hunter2/);
    assert.match(lines[0]!, /postgres:\/\/claws:\*\*\*@db:5432/);
    assert.match(lines[0]!, /password=\*\*\*/);
    assert.deepEqual(Object.keys(JSON.parse(lines[0]!) as object).sort(), [
      'detail',
      'error',
      'level',
      'msg',
      't',
    ]);
  });

  it('leaves URLs without credentials alone', () => {
    const line = '{"url":"http://127.0.0.1:7070/health","to":"wss://claw-1.claws.localhost"}';
    assert.equal(redactCredentials(line), line);
  });
});
