import { ButtonLink, Card } from '@/app/_components/ui';

export default function NotFound() {
  return (
    <Card empty>
      <h1>Page not found</h1>
      <p>There is nothing at this address.</p>
      <ButtonLink href="/">Home</ButtonLink>
    </Card>
  );
}
