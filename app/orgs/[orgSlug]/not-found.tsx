import { ButtonLink, Card } from '@/app/_components/ui';

/** An organization that does not exist, or whose member the caller is not (they look the same). */
export default function OrgNotFound() {
  return (
    <Card empty>
      <h1>Organization not found</h1>
      <p>It does not exist, or you are not one of its members.</p>
      <ButtonLink href="/">Home</ButtonLink>
    </Card>
  );
}
