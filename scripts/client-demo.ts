import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink } from '@trpc/client';
import { EventSource } from 'eventsource';
import superjson from 'superjson';
import type { AppRouter } from '../server/trpc/routers/_app';

/**
 * A typed client of the Claws API, as a script would use it: sign up, create an organization and a
 * claw, then wait on the live subscription until the claw is active. Types come from the router.
 *   tsx scripts/client-demo.ts [baseUrl]        (default http://127.0.0.1:3000)
 * Env: DEMO_EMAIL, DEMO_PASSWORD (defaults: a fresh address), DEMO_TIMEOUT_MS.
 * With DEMO_AGENT_URL and DEMO_AGENT_TOKEN it first registers that Mini agent as a Mini through
 * fleet.register (the demo user must be a platform admin: start the server with CLAWS_ADMIN_EMAILS
 * set to DEMO_EMAIL); DEMO_AGENT_CERT_FINGERPRINT is the https agent's certificate fingerprint
 * (what the agent prints),
 * DEMO_PORT_RANGE ("19000-19019") is the gateway port range it gets.
 */
const base = process.argv[2] ?? process.env.CLAWS_URL ?? 'http://127.0.0.1:3000';
const email = process.env.DEMO_EMAIL ?? `demo-${Date.now()}@example.com`;
const password = process.env.DEMO_PASSWORD ?? 'demo-password-123';
const timeoutMs = Number(process.env.DEMO_TIMEOUT_MS ?? 120_000);

// Node has no cookie jar: keep the session cookie from Set-Cookie and send it back.
let cookie = '';
const fetchWithCookies: typeof fetch = async (input, init) => {
  const headers = new Headers(init?.headers);
  if (cookie) headers.set('cookie', cookie);
  const res = await fetch(input, { ...init, headers });
  const set = res.headers.getSetCookie?.() ?? [];
  // `claws_session`, or `__Host-claws_session` from a production server.
  for (const c of set) if (/^(__Host-)?claws_session=/.test(c)) cookie = c.split(';')[0]!;
  return res;
};

const client = createTRPCClient<AppRouter>({
  links: [
    splitLink({
      condition: (op) => op.type === 'subscription',
      true: httpSubscriptionLink({
        url: `${base}/api/trpc`,
        transformer: superjson,
        // Node 20 has no EventSource; this one takes a fetch, so the session cookie goes along.
        EventSource: class extends EventSource {
          constructor(url: string | URL, init?: ConstructorParameters<typeof EventSource>[1]) {
            super(url, { ...init, fetch: (u, i) => fetchWithCookies(u, i) });
          }
        },
      }),
      false: httpBatchLink({
        url: `${base}/api/trpc`,
        transformer: superjson,
        fetch: fetchWithCookies,
        headers: { 'x-claws-csrf': '1' },
      }),
    }),
  ],
});

const user = await client.auth.signup.mutate({ email, password, name: 'Demo' });
console.log(`signed up ${user.email}${user.is_platform_admin ? ' (platform admin)' : ''}`);
if (process.env.DEMO_AGENT_URL && process.env.DEMO_AGENT_TOKEN) {
  const [start, end] = (process.env.DEMO_PORT_RANGE ?? '19000-19019').split('-').map(Number) as [
    number,
    number,
  ];
  const mini = await client.fleet.register.mutate({
    hostname: `demo-mini-${Date.now().toString(36)}.local`,
    agentUrl: process.env.DEMO_AGENT_URL,
    ...(process.env.DEMO_AGENT_CERT_FINGERPRINT
      ? { agentCertFingerprint: process.env.DEMO_AGENT_CERT_FINGERPRINT }
      : {}),
    agentToken: process.env.DEMO_AGENT_TOKEN,
    tunnelSuffix: process.env.DEMO_TUNNEL_SUFFIX ?? 'claws.localhost',
    portRangeStart: start,
    portRangeEnd: end,
    capacity: Math.min(20, end - start + 1),
  });
  console.log(`registered Mini ${mini.hostname} (${process.env.DEMO_AGENT_URL}): ${mini.status}`);
}
const org = await client.orgs.create.mutate({ name: `Demo ${Date.now().toString(36)}` });
console.log(`created organization ${org.slug}`);
const claw = await client.claws.create.mutate({ orgSlug: org.slug, name: 'Demo claw' });
console.log(`requested claw ${claw.slug}: ${claw.status}`);

const outcome = await new Promise<'active' | string>((resolve) => {
  const timer = setTimeout(() => resolve(`timed out after ${timeoutMs} ms`), timeoutMs);
  const sub = client.claws.onChange.subscribe(
    { orgSlug: org.slug },
    {
      onData: ({ data }) => {
        if (data.id !== claw.id) return;
        console.log(`  ${data.status}${data.lastError ? ` (${data.lastError})` : ''}`);
        if (data.status === 'active' || data.status === 'failed') {
          clearTimeout(timer);
          sub.unsubscribe();
          resolve(data.status === 'active' ? 'active' : `failed: ${data.lastError}`);
        }
      },
      onError: (err) => console.error(`subscription error: ${err.message}`),
    },
  );
  // The claw may have become active before the subscription started.
  void client.claws.get.query({ orgSlug: org.slug, clawSlug: claw.slug }).then((c) => {
    if (c.status === 'active') {
      clearTimeout(timer);
      sub.unsubscribe();
      resolve('active');
    }
  });
});

if (outcome !== 'active') {
  console.error(`claw did not become active: ${outcome}`);
  process.exit(1);
}
const final = await client.claws.get.query({ orgSlug: org.slug, clawSlug: claw.slug });
console.log(
  `claw ${final.slug} is active on ${final.mini?.hostname}:${final.port} (${final.tunnelHostname}) after ${final.warmupMs} ms`,
);
process.exit(0);
