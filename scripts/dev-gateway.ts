import { parseArgs } from 'node:util';
import { openclawConnect, request } from '../server/gateway/openclaw-client';
import {
  BackupCommandError,
  backupCreate,
  backupRestore,
  backupVerify,
  defaultOutputDir,
} from './dev-gateway/backup';
import { readGatewayFileSettings, type GatewayFileSettings } from './dev-gateway/config-file';
import { startDevGateway } from './dev-gateway/server';

/**
 * A dev OpenClaw gateway for local runs and tests, with the real gateway's command line:
 *   dev-gateway gateway run --port <P> --bind loopback --auth token [--token T] [--allow-unconfigured]
 *   dev-gateway devices list --json | devices approve <requestId> --json
 *   dev-gateway backup create [--verify] [--output DIR] --json | backup verify ARCHIVE --json |
 *               backup restore ARCHIVE --target DIR --json   (OpenClaw's shapes: dev-gateway/backup.ts)
 * The token comes from --token, OPENCLAW_GATEWAY_TOKEN or, as a Mini agent hands it over, the
 * config file's gateway.auth.token (OPENCLAW_CONFIG_PATH, else <OPENCLAW_STATE_DIR>/openclaw.json),
 * which also gives trusted proxies and allowed origins (dev-gateway/config-file.ts).
 * Env: CLAWS_DEV_GATEWAY_STARTUP_MS (connects answer "gateway starting" until then, default 300),
 * CLAWS_DEV_GATEWAY_TRUSTED_PROXIES, CLAWS_DEV_GATEWAY_ALLOWED_ORIGINS (added to the config's),
 * CLAWS_DEV_GATEWAY_WORD_MS, CLAWS_DEV_GATEWAY_TICK_MS, OPENCLAW_HANDSHAKE_TIMEOUT_MS,
 * OPENCLAW_STATE_DIR, OPENCLAW_CONFIG_PATH.
 */
const { values, positionals } = parseArgs({
  allowPositionals: true,
  strict: false,
  options: {
    port: { type: 'string' },
    bind: { type: 'string' },
    auth: { type: 'string' },
    token: { type: 'string' },
    json: { type: 'boolean' },
    verbose: { type: 'boolean' },
    'allow-unconfigured': { type: 'boolean' },
    output: { type: 'string' },
    target: { type: 'string' },
    verify: { type: 'boolean' },
  },
});
const env = process.env;
const [group, action, arg] = positionals;

// Backups first: they read the state and config files themselves, and need no token.
if (group === 'backup') runBackup();

/** Like `openclaw backup … --json`: one JSON result on stdout; a failure is exit 1 with {ok: false}. */
function runBackup(): never {
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  try {
    const result =
      action === 'create'
        ? backupCreate(env, str(values.output) ?? defaultOutputDir(), values.verify === true)
        : action === 'verify' && arg
          ? backupVerify(arg)
          : action === 'restore' && arg && str(values.target)
            ? backupRestore(arg, str(values.target)!)
            : fail(
                'usage: dev-gateway backup create [--verify] [--output DIR] | verify ARCHIVE | restore ARCHIVE --target DIR',
              );
    console.log(JSON.stringify(result, null, 2));
    process.exit(0);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!(err instanceof BackupCommandError)) console.error(err);
    console.log(JSON.stringify({ ok: false, error: { type: 'cli_error', message } }, null, 2));
    process.exit(1);
  }
}
const num = (v: string | undefined, fallback: number) =>
  v && Number.isFinite(Number(v)) ? Number(v) : fallback;
const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
let file: GatewayFileSettings;
try {
  file = readGatewayFileSettings(env);
} catch (err) {
  fail((err as Error).message);
}
const token = String(values.token ?? env.OPENCLAW_GATEWAY_TOKEN ?? file.token ?? '');
const port = num(values.port as string | undefined, num(env.OPENCLAW_GATEWAY_PORT, 18789));

function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

if (group === 'gateway' && action === 'run') {
  if (values.auth !== undefined && values.auth !== 'token')
    fail('only --auth token is supported by the dev gateway');
  if (!token) fail('a gateway token is required (gateway.auth.token, OPENCLAW_GATEWAY_TOKEN or --token)');
  const bind = String(values.bind ?? 'loopback');
  const host = bind === 'lan' ? '0.0.0.0' : '127.0.0.1';
  const verbose = values.verbose === true;
  // The config's env.vars fill what the environment lacks (OpenClaw's precedence); the names alone
  // are printed, so a test can see the secrets arrived without any value reaching the log.
  const applied = Object.entries(file.envVars).filter(([name]) => env[name] === undefined);
  for (const [name, value] of applied) process.env[name] = value;
  if (applied.length) console.log(`env vars from config: ${applied.map(([name]) => name).join(', ')}`);
  const gateway = startDevGateway({
    port,
    host,
    token,
    stateDir: env.OPENCLAW_STATE_DIR,
    startupMs: num(env.CLAWS_DEV_GATEWAY_STARTUP_MS, 300),
    handshakeTimeoutMs: num(env.OPENCLAW_HANDSHAKE_TIMEOUT_MS, 15_000),
    tickIntervalMs: num(env.CLAWS_DEV_GATEWAY_TICK_MS, 30_000),
    pingIntervalMs: num(env.CLAWS_DEV_GATEWAY_PING_MS, 25_000),
    wordDelayMs: num(env.CLAWS_DEV_GATEWAY_WORD_MS, 40),
    trustedProxies: [...file.trustedProxies, ...list(env.CLAWS_DEV_GATEWAY_TRUSTED_PROXIES)],
    allowedOrigins: [...file.allowedOrigins, ...list(env.CLAWS_DEV_GATEWAY_ALLOWED_ORIGINS)],
    log: (line) => verbose && console.log(line),
    audit: (line) => console.log(line),
  });
  gateway.listening.then(
    () => console.log(`dev gateway listening on ws://${host}:${port}`),
    (err: Error) => fail(`cannot listen on ${host}:${port}: ${err.message}`),
  );
  const stop = () => void gateway.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} else if (group === 'devices' && (action === 'list' || action === 'approve')) {
  if (!token) fail('a gateway token is required (OPENCLAW_GATEWAY_TOKEN or --token)');
  try {
    const { ws } = await openclawConnect({
      url: `ws://127.0.0.1:${port}`,
      token,
      scopes: ['operator.admin', 'operator.pairing'],
      clientId: 'cli',
      mode: 'cli',
      timeoutMs: 5000,
    });
    const out =
      action === 'list'
        ? await request(ws, 'device.pair.list', {})
        : await request(ws, 'device.pair.approve', {
            requestId: arg ?? fail('devices approve needs a requestId'),
          });
    ws.close();
    console.log(values.json ? JSON.stringify(out, null, 2) : out);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
} else {
  fail(
    'usage: dev-gateway gateway run --port <P> --bind loopback --auth token | devices list|approve <id> --json',
  );
}
