'use client';

import { useQueryErrorResetBoundary } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Button, Card } from '@/app/_components/ui';

/**
 * What a page shows when it failed to render (the server or a query it needed failed). Retry
 * clears the failed queries and renders the page again from the server.
 */
export default function PageError({ error, retry }: { error: unknown; retry: () => void }) {
  const { reset } = useQueryErrorResetBoundary();
  useEffect(() => console.error(error), [error]);
  const digest = error instanceof Error && 'digest' in error ? String(error.digest) : null;
  return (
    <Card empty role="alert">
      <h1>Something went wrong</h1>
      <p>This page could not be shown{digest ? ` (error ${digest})` : ''}. It may work in a moment.</p>
      <Button
        variant="primary"
        onClick={() => {
          reset();
          retry();
        }}
      >
        Try again
      </Button>
    </Card>
  );
}
