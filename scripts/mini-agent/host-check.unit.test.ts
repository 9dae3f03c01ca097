import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultHostNames, hostAllowed, hostOfHeader } from './host-check';

describe('the agent Host check (DNS rebinding)', () => {
  it('reads the name of a Host header, with or without a port, v6 in brackets', () => {
    assert.equal(hostOfHeader('Mini-07.Fleet.Example:7070'), 'mini-07.fleet.example');
    assert.equal(hostOfHeader('mini.local.'), 'mini.local');
    assert.equal(hostOfHeader('[::1]:7070'), '::1');
    assert.equal(hostOfHeader('10.0.0.7'), '10.0.0.7');
    for (const bad of [undefined, '', 'a b', 'user@host', '[nope]:1', 'host:port', 'x/y'])
      assert.equal(hostOfHeader(bad), undefined, String(bad));
  });

  it('lets through only its names: a missing or malformed Host is refused too', () => {
    const names = defaultHostNames('127.0.0.1', true, []);
    assert.ok(hostAllowed('127.0.0.1:7070', names));
    assert.ok(hostAllowed('localhost', names));
    assert.ok(!hostAllowed(undefined, names));
    assert.ok(!hostAllowed('attacker.example', names));
    assert.ok(!hostAllowed('localhost.attacker.example', names));
    const configured = defaultHostNames('0.0.0.0', false, ['mini-07.fleet.example']);
    assert.deepEqual([...configured], ['mini-07.fleet.example']);
  });
});
