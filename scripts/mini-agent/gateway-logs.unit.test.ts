import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseLogLine, readGatewayLog } from './gateway-logs';

const TOKEN = 'gw-token-0123456789abcdef';

function logFile(lines: string[]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'claws-logs-')), 'gateway.log');
  fs.writeFileSync(file, lines.map((l) => `${l}\n`).join(''));
  return file;
}

describe('a claw’s gateway output', () => {
  it('tails the last lines, redacting the gateway token and the model key', () => {
    const file = logFile(['one', `token=${TOKEN} here`, 'three', 'key sk-live-abcdef in a line']);
    const r = readGatewayLog(file, { limit: 3 }, [TOKEN, 'sk-live-abcdef']);
    assert.deepEqual(
      r.lines.map((l) => l.text),
      ['token=[redacted] here', 'three', 'key [redacted] in a line'],
    );
    assert.equal(r.offset, fs.statSync(file).size);
    assert.equal(r.rotated, false);
  });

  it('follows from an offset, line by line, and starts over in a rotated file', () => {
    const file = logFile(['a', 'b']);
    const first = readGatewayLog(file, { limit: 100 }, []);
    fs.appendFileSync(file, 'c\nd\npartial');
    const next = readGatewayLog(file, { after: first.offset, limit: 100 }, []);
    assert.deepEqual(
      next.lines.map((l) => l.text),
      ['c', 'd'],
      'a line still being written waits for its end',
    );
    const limited = readGatewayLog(file, { after: first.offset, limit: 1 }, []);
    assert.deepEqual(
      limited.lines.map((l) => l.text),
      ['c'],
    );
    assert.deepEqual(
      readGatewayLog(file, { after: limited.offset, limit: 100 }, []).lines.map((l) => l.text),
      ['d'],
    );
    fs.renameSync(file, `${file}.1`);
    fs.writeFileSync(file, 'new file, longer than the old one was\n');
    const after = readGatewayLog(file, { after: next.offset, file: next.file, limit: 100 }, []);
    assert.deepEqual(
      [after.rotated, after.lines.map((l) => l.text)],
      [true, ['new file, longer than the old one was']],
    );
  });

  it('answers nothing, not an error, for a gateway that has written nothing yet', () => {
    assert.deepEqual(readGatewayLog('/nonexistent/gateway.log', { limit: 10 }, []), {
      lines: [],
      offset: 0,
      file: 0,
      rotated: false,
    });
  });

  it('reads the level and time a line states, as JSON or as words', () => {
    assert.deepEqual(parseLogLine('{"level":"warn","time":"2026-12-02T10:00:00Z","msg":"x"}').level, 'warn');
    assert.equal(parseLogLine('{"level":50,"msg":"x"}').level, 'error');
    const words = parseLogLine('2026-12-02 10:00:01.123 [gateway] ERROR could not bind');
    assert.deepEqual([words.level, words.at], ['error', '2026-12-02 10:00:01.123']);
    assert.equal(parseLogLine('listening on 127.0.0.1:20001').level, null);
    assert.equal(parseLogLine('x'.repeat(5000)).text.length, 4001);
  });
});
