import { randomUUID } from 'node:crypto';
import { loadConfig } from '../server/config';
import { seedDevMini } from '../server/fleet/dev-mini';
import { createRuntime } from '../server/runtime';
import { runMain } from './lib/run-main';

/** `npm run seed:dev-mini`: registers the local agent (npm run agent) as a Mini, through the log. */
await runMain(async () => {
  const runtime = await createRuntime(loadConfig(), { component: 'cli' });
  try {
    const { mini, created } = await seedDevMini(
      {
        store: runtime.store,
        secrets: runtime.secrets,
        actor: 'system:seed',
        correlationId: randomUUID(),
        production: runtime.config.production,
      },
      {
        agentUrl: runtime.config.MINI_AGENT_URL,
        agentToken: runtime.config.MINI_AGENT_TOKEN,
        tunnelSuffix: runtime.config.TUNNEL_DOMAIN,
      },
    );
    console.log(
      `${created ? 'Registered' : 'Already registered:'} Mini ${mini.hostname} (${mini.id}) → ${mini.agentUrl}, ` +
        `ports ${mini.portRangeStart}-${mini.portRangeEnd}, capacity ${mini.capacity}`,
    );
  } finally {
    await runtime.close();
  }
});
