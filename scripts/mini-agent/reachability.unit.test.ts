import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { closedToOthers, gatewayCommandClosedToOthers, gatewayCommandFiles } from './reachability';

describe('what claw users can reach', () => {
  it('needs o+x on every directory on the way and o+r (o+x to run) on the file', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-reach-'));
    try {
      fs.chmodSync(root, 0o755);
      const dir = path.join(root, 'app');
      fs.mkdirSync(dir, { mode: 0o755 });
      const script = path.join(dir, 'gw.mjs');
      fs.writeFileSync(script, '', { mode: 0o644 });
      const bin = path.join(dir, 'node');
      fs.writeFileSync(bin, '', { mode: 0o755 });
      assert.equal(closedToOthers(script, 'read'), undefined);
      assert.equal(closedToOthers(bin, 'execute'), undefined);
      assert.match(closedToOthers(script, 'execute')!, /gw\.mjs is 0644: other users cannot execute it/);
      fs.chmodSync(dir, 0o750);
      assert.match(
        closedToOthers(script, 'read')!,
        new RegExp(`${dir} is 0750: other users cannot enter it`),
      );
      fs.chmodSync(dir, 0o711);
      assert.equal(closedToOthers(script, 'read'), undefined, 'passing through is enough');
      fs.chmodSync(script, 0o600);
      assert.match(closedToOthers(script, 'read')!, /is 0600: other users cannot read it/);
      assert.match(closedToOthers(path.join(root, 'none'), 'read')!, /does not exist/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('finds the files a gateway command runs from: the program (on PATH too), scripts, loaders', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-reach-'));
    try {
      const bin = path.join(root, 'node');
      const loader = path.join(root, 'loader.mjs');
      const script = path.join(root, 'gw.ts');
      for (const f of [bin, loader, script]) fs.writeFileSync(f, '', { mode: 0o755 });
      assert.deepEqual(
        gatewayCommandFiles(['node', '--import', pathToFileURL(loader).href, script, '-x', '/nowhere'], root),
        [
          { file: bin, need: 'execute' },
          { file: loader, need: 'read' },
          { file: script, need: 'read' },
        ],
      );
      fs.chmodSync(root, 0o700);
      const problems = gatewayCommandClosedToOthers([bin, script]);
      assert.deepEqual(
        problems,
        [`${fs.realpathSync(root)} is 0700: other users cannot enter it`],
        'one reason for both files',
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
