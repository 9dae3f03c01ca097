import type { NextConfig } from 'next';
import { nextDistDir } from './server/config';

const nextConfig: NextConfig = {
  // From server/config.ts, where every setting is parsed: the servers tests start build into their
  // own directory, so they neither take a developer's `npm run dev` lock nor overwrite its output.
  distDir: nextDistDir(),
  // Server-only packages stay out of the bundle: one copy of PGlite's WASM and of the pg driver.
  serverExternalPackages: ['@electric-sql/pglite', 'kysely', 'pg', 'ws'],
  // The dev server's HMR socket is refused for origins other than its own host; allow both spellings.
  allowedDevOrigins: ['127.0.0.1', 'localhost'],
  poweredByHeader: false,
};

export default nextConfig;
