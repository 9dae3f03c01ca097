import { ClawNotFound } from './claw-not-found';

/** A claw that does not exist, was deleted, or belongs to an organization the caller is not in. */
export default function NotFound() {
  return <ClawNotFound message="It does not exist, or you are not a member of its organization." />;
}
