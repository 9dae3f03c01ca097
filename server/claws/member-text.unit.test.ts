import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forMembers } from './member-text';

describe('failures as members read them', () => {
  const cases: [string, string][] = [
    ['Agent POST http://10.0.0.5:7070/claws failed: ECONNREFUSED', "The claw's Mini failed: ECONNREFUSED"],
    [
      'Agent POST /claws failed with HTTP 409: Port 20001 is in use by another process on this Mini',
      "The claw's Mini failed with HTTP 409: Port is in use by another process on this Mini",
    ],
    ['Agent GET /claws/c1/status timed out after 5000 ms', "The claw's Mini timed out after 5000 ms"],
    [
      "Agent GET /health: the agent's TLS certificate is sha256:ab, not the pinned sha256:cd; if …",
      "The claw's Mini could not be verified; an operator must check it",
    ],
    [
      'No hello-ok from ws://10.0.0.5:20001 within 5000 ms',
      'No hello-ok from (an internal address) within 5000 ms',
    ],
    [
      'Cannot reach the gateway: connect ECONNREFUSED 127.0.0.1:20001',
      'Cannot reach the gateway: connect ECONNREFUSED (an internal address)',
    ],
    ['connect ECONNREFUSED [::1]:7070', 'connect ECONNREFUSED (an internal address)'],
    [
      'connect EHOSTUNREACH fe80::1:2 and ::1',
      'connect EHOSTUNREACH (an internal address) and (an internal address)',
    ],
    [
      'S3 endpoint r2.internal.example:443 unreachable (ETIMEDOUT)',
      'S3 endpoint (an internal address) unreachable (ETIMEDOUT)',
    ],
    [
      'The gateway failed: gateway exit code 3: spawn /opt/node24/bin/node ENOENT',
      'The gateway failed: gateway exit code 3: spawn (a path on the Mini) ENOENT',
    ],
    ['state in /Users/claw-1/.openclaw/openclaw.json is bad', 'state in (a path on the Mini) is bad'],
  ];
  for (const [raw, member] of cases)
    it(`"${raw.slice(0, 60)}"`, () => {
      const out = forMembers(raw);
      assert.equal(out, member);
      assert.doesNotMatch(out, /\d+\.\d+\.\d+\.\d+|:\d{2,5}\b|\/opt|\/Users/);
    });

  it("leaves the control plane's own words alone", () => {
    for (const words of [
      'Its Mini is offline',
      'No Mini has capacity for a new claw',
      'The gateway refused the claw token',
      'Waiting for the Mini to approve the control plane device',
      'The gateway did not grant operator.read, operator.write yet',
      'The gateway was not running on its Mini (stopped); restarted it',
    ])
      assert.equal(forMembers(words), words);
    assert.equal(forMembers(null), null);
  });
});
