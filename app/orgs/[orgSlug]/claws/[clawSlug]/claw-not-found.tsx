'use client';

import { useParams } from 'next/navigation';
import { ButtonLink, Card } from '@/app/_components/ui';

/** "Claw not found": from the page (not-found.tsx) and from the island once its claw is gone. */
export function ClawNotFound({ message }: { message: string }) {
  const { orgSlug } = useParams<{ orgSlug: string }>();
  return (
    <Card empty>
      <h1>Claw not found</h1>
      <p>{message}</p>
      <ButtonLink href={`/orgs/${orgSlug}`}>Back to claws</ButtonLink>
    </Card>
  );
}
