import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { AppShell } from '@/app/_components/app-shell';
import { TRPCReactProvider } from '@/app/_trpc/client';
import { getQueryClient, HydrateClient, trpc } from '@/app/_trpc/server';
import './globals.css';

export const metadata: Metadata = { title: 'Claws', description: 'OpenClaw gateways for your organization' };
export const viewport: Viewport = { width: 'device-width', initialScale: 1 };
// Every page reads the session cookie: nothing is prerendered at build time.
export const dynamic = 'force-dynamic';

export default async function RootLayout({ children }: { children: ReactNode }) {
  // The header's first paint already knows who is signed in (no "Log in" flash) and their
  // organizations (the switcher). A failure here leaves the header to the browser's own fetch.
  const qc = getQueryClient();
  const session = [trpc.auth.me.queryKey(), trpc.orgs.list.queryKey()];
  await qc.prefetchQuery(trpc.auth.me.queryOptions());
  if (qc.getQueryData(trpc.auth.me.queryKey())) await qc.prefetchQuery(trpc.orgs.list.queryOptions());
  return (
    <html lang="en">
      <body>
        <TRPCReactProvider>
          <HydrateClient queryKeys={session}>
            <AppShell>{children}</AppShell>
          </HydrateClient>
        </TRPCReactProvider>
      </body>
    </html>
  );
}
