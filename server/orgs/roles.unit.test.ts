import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Role } from '../../db/types';
import { mayChangeRole, mayGrant, mayLeave, mayRemove, mayTransfer } from './roles';

const ROLES: Role[] = ['owner', 'admin', 'member'];
const ok = (d: { ok: boolean }) => d.ok;

describe('organization roles never escalate', () => {
  it('nobody grants ownership by invitation, token or role change', () => {
    for (const actor of ROLES) {
      assert.equal(ok(mayGrant(actor, 'owner')), false, actor);
      for (const from of ROLES) assert.equal(ok(mayChangeRole(actor, from, 'owner', false)), false);
    }
  });

  it('members manage nobody; admins and owners manage admins and members', () => {
    assert.equal(ok(mayGrant('member', 'member')), false);
    assert.equal(ok(mayGrant('admin', 'admin')), true);
    assert.equal(ok(mayChangeRole('member', 'member', 'admin', false)), false);
    assert.equal(ok(mayChangeRole('admin', 'member', 'admin', false)), true);
    assert.equal(ok(mayChangeRole('admin', 'admin', 'member', false)), true);
    assert.equal(ok(mayChangeRole('owner', 'admin', 'member', false)), true);
  });

  it('an owner is changed or removed by nobody; nobody changes their own role', () => {
    for (const actor of ROLES) {
      assert.equal(ok(mayChangeRole(actor, 'owner', 'admin', false)), false);
      assert.equal(ok(mayRemove(actor, 'owner')), false);
    }
    assert.equal(ok(mayChangeRole('admin', 'admin', 'member', true)), false);
    assert.equal(ok(mayRemove('admin', 'member')), true);
    assert.equal(ok(mayRemove('member', 'member')), false);
  });

  it('the last owner cannot leave; ownership is transferred by the owner only', () => {
    assert.equal(ok(mayLeave('owner', 1)), false);
    assert.equal(ok(mayLeave('owner', 2)), true);
    assert.equal(ok(mayLeave('admin', 1)), true);
    assert.equal(ok(mayTransfer('owner', false)), true);
    assert.equal(ok(mayTransfer('owner', true)), false);
    assert.equal(ok(mayTransfer('admin', false)), false);
  });
});
