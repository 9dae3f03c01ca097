import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { clawProcesses, directoryBytes, parseProcStat, parsePsLine, processTable } from './usage';

describe('what a claw uses', () => {
  it('reads a /proc stat line, whatever its command name holds', () => {
    const line =
      '4242 (node (gateway) x) S 1 4242 4242 0 -1 4194560 2000 0 0 0 250 50 0 0 20 0 11 0 123456 1000000 5000 18446744073709551615';
    assert.deepEqual(parseProcStat(line), { pid: 4242, pgid: 4242, cpuSeconds: 3, rssBytes: 5000 * 4096 });
    assert.equal(parseProcStat('garbage'), undefined);
  });

  it('reads a ps line (macOS): KiB and [[dd-]hh:]mm:ss.ss', () => {
    assert.deepEqual(parsePsLine('  501   501   502  20480   1:02.50'), {
      pid: 501,
      pgid: 501,
      uid: 502,
      rssBytes: 20480 * 1024,
      cpuSeconds: 62.5,
    });
    assert.equal(parsePsLine(' 7 7 0 10 1-02:00:00')?.cpuSeconds, 86_400 + 7200);
    assert.equal(parsePsLine('PID PGID'), undefined);
  });

  it('takes a claw user’s processes, or its gateway’s process group', () => {
    const t = [
      { pid: 1, pgid: 1, uid: 0, rssBytes: 1, cpuSeconds: 1 },
      { pid: 10, pgid: 10, uid: 600, rssBytes: 100, cpuSeconds: 2 },
      { pid: 11, pgid: 11, uid: 600, rssBytes: 50, cpuSeconds: 1 },
      { pid: 12, pgid: 10, uid: 0, rssBytes: 7, cpuSeconds: 0 },
    ];
    assert.deepEqual(
      clawProcesses(t, { uid: 600, gatewayPid: 10 }).map((p) => p.pid),
      [10, 11],
    );
    assert.deepEqual(
      clawProcesses(t, { gatewayPid: 10 }).map((p) => p.pid),
      [10, 12],
    );
    assert.deepEqual(clawProcesses(t, {}), []);
  });

  it('sees this very process in the machine’s table, and counts a directory’s bytes', async () => {
    const me = (await processTable()).find((p) => p.pid === process.pid);
    assert.ok(me && me.rssBytes > 1_000_000 && me.cpuSeconds > 0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-usage-'));
    fs.mkdirSync(path.join(dir, 'a/b'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'a/b/f'), Buffer.alloc(3000));
    fs.writeFileSync(path.join(dir, 'g'), Buffer.alloc(1000));
    assert.equal(await directoryBytes(dir), 4000);
  });
});
