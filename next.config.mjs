/** @type {import('next').NextConfig} */
const nextConfig = {
  // Server-only packages stay out of the bundle: one copy of PGlite's WASM and of the pg driver.
  serverExternalPackages: ['@electric-sql/pglite', 'kysely', 'pg', 'ws'],
  // The dev server's HMR socket is refused for origins other than its own host; allow both spellings.
  allowedDevOrigins: ['127.0.0.1', 'localhost'],
  poweredByHeader: false,
};

export default nextConfig;
