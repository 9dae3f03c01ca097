import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { AppShell } from './_components/app-shell';
import { TRPCReactProvider } from './_trpc/client';
import './globals.css';

export const metadata: Metadata = { title: 'Claws', description: 'OpenClaw gateways for your organization' };
export const viewport: Viewport = { width: 'device-width', initialScale: 1 };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <TRPCReactProvider>
          <AppShell>{children}</AppShell>
        </TRPCReactProvider>
      </body>
    </html>
  );
}
