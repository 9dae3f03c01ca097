import type { GrantableRole, Role } from '../../db/types';

/**
 * Who may do what to whom in an organization, as pure decisions (the commands in memberships.ts
 * and invitations.ts apply them inside their transactions). Roles never escalate: nobody grants
 * more than admin, ownership moves only by an explicit transfer, and an organization always keeps
 * an owner.
 */
export type Decision = { ok: true } | { ok: false; why: string };
const yes: Decision = { ok: true };
const no = (why: string): Decision => ({ ok: false, why });

export const isManager = (role: Role) => role === 'owner' || role === 'admin';

/** Inviting someone, or minting an API token, with `role`. */
export function mayGrant(actor: Role, role: GrantableRole | 'owner'): Decision {
  if (!isManager(actor)) return no('Only owners and admins of the organization may do this');
  if (role === 'owner') return no('Ownership is never granted; the owner transfers it');
  return yes;
}

/** Changing a member's role from `from` to `to`. */
export function mayChangeRole(actor: Role, from: Role, to: Role, self: boolean): Decision {
  if (!isManager(actor)) return no('Only owners and admins of the organization may change roles');
  if (to === 'owner') return no('Ownership is never granted; the owner transfers it');
  if (from === 'owner') return no('An owner’s role changes only by transferring ownership');
  if (self) return no('You cannot change your own role');
  return yes;
}

/** Removing a member whose role is `target` (not oneself: that is leaving). */
export function mayRemove(actor: Role, target: Role): Decision {
  if (!isManager(actor)) return no('Only owners and admins of the organization may remove members');
  if (target === 'owner') return no('The owner cannot be removed; the owner transfers ownership first');
  return yes;
}

/** Leaving: anyone but the last owner. */
export function mayLeave(role: Role, owners: number): Decision {
  if (role === 'owner' && owners <= 1)
    return no('You are the last owner: transfer ownership to another member before you leave');
  return yes;
}

/** Transferring ownership: only an owner, to another member. */
export function mayTransfer(actor: Role, self: boolean): Decision {
  if (actor !== 'owner') return no('Only the owner may transfer ownership');
  if (self) return no('You already own this organization');
  return yes;
}
