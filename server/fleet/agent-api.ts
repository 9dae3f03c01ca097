import { z } from 'zod';

/**
 * The Mini Agent API (DESIGN.md "Mini Agent API") as one wire contract: the agent's HTTP server
 * (scripts/mini-agent/http-api.ts) validates requests and shapes its answers with these schemas, the
 * control plane's client (agent-client.ts) parses the answers with the same ones. Every answer is
 * JSON; every failure is a non-2xx status with an `ErrorResponse`. Every route needs
 * `Authorization: Bearer <agent token>`.
 *
 *   POST   /claws             StartClawRequest → 200 OkResponse | 400 | 409
 *   GET    /claws/:id/status  → 200 ClawStatusReport | 404 ErrorResponse (the agent does not know it)
 *   DELETE /claws/:id         → 200 OkResponse (also for unknown claws)
 *   POST   /claws/:id/stop    → 200 OkResponse: the gateway stops, the claw's record, files and user
 *                               stay (a POST /claws starts it again); also for unknown claws
 *   POST   /claws/:id/restart → 200 OkResponse | 404 (unknown) | 409 (stopped): a new gateway process
 *   POST   /claws/:id/backup  BackupClawRequest → 200 BackupClawResponse | 404 (unknown) | 502 (the
 *                               upload failed): the gateway's own backup of its state, uploaded to
 *                               the presigned URL; running or stopped claws alike
 *   POST   /claws/:id/restore RestoreClawRequest → 200 OkResponse | 404 (unknown) | 422 `backup_invalid`
 *                               (size, sha256 or the gateway's verify refused it; the claw's state is
 *                               untouched and its gateway runs again if it ran before)
 *   GET    /claws/:id/logs    ?limit&after → 200 ClawLogsResponse | 404: its gateway's output, redacted
 *   GET    /claws/:id/usage   → 200 ClawUsageResponse | 404: its recent memory and CPU, its disk
 *   GET    /claws             → 200 ListClawsResponse (no tokens)
 *   GET    /health            → 200 HealthResponse
 *
 * This module imports nothing but zod: the agent runs on a Mini without the control plane's
 * database, tRPC or Next, and must be able to load it alone.
 */

/**
 * The bearer token of a local dev agent (`npm run agent -- --dev`, the one `npm run dev` starts),
 * which the dev seed registers. It is public: the agent accepts it only with `--dev` (plain HTTP on
 * loopback), and a production control plane refuses to register a Mini with it.
 */
export const DEV_AGENT_TOKEN = 'claws-dev-agent-token-not-for-production';

export const agentPaths = {
  health: '/health',
  claws: '/claws',
  claw: (clawId: string) => `/claws/${encodeURIComponent(clawId)}`,
  clawStatus: (clawId: string) => `/claws/${encodeURIComponent(clawId)}/status`,
  clawStop: (clawId: string) => `/claws/${encodeURIComponent(clawId)}/stop`,
  clawRestart: (clawId: string) => `/claws/${encodeURIComponent(clawId)}/restart`,
  clawBackup: (clawId: string) => `/claws/${encodeURIComponent(clawId)}/backup`,
  clawRestore: (clawId: string) => `/claws/${encodeURIComponent(clawId)}/restore`,
  clawLogs: (clawId: string) => `/claws/${encodeURIComponent(clawId)}/logs`,
  clawUsage: (clawId: string) => `/claws/${encodeURIComponent(clawId)}/usage`,
} as const;

type ClawRoute =
  | 'claw'
  | 'clawStatus'
  | 'clawStop'
  | 'clawRestart'
  | 'clawBackup'
  | 'clawRestore'
  | 'clawLogs'
  | 'clawUsage';
const SUBROUTES: Record<string, ClawRoute> = {
  status: 'clawStatus',
  stop: 'clawStop',
  restart: 'clawRestart',
  backup: 'clawBackup',
  restore: 'clawRestore',
  logs: 'clawLogs',
  usage: 'clawUsage',
};

/**
 * The claw a `/claws/:id` or `/claws/:id/status` path names, still URI-encoded (the server decides
 * what an undecodable id means); undefined for any other path.
 */
export function matchClawPath(path: string): { encodedId: string; route: ClawRoute } | undefined {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] !== 'claws' || parts[1] === undefined) return undefined;
  if (parts.length === 2) return { encodedId: parts[1], route: 'claw' };
  const route = parts.length === 3 ? SUBROUTES[parts[2]!] : undefined;
  return route ? { encodedId: parts[1], route } : undefined;
}

export const ClawId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'letters, digits, _ and - only, starting with a letter or digit');

/**
 * The control plane's Ed25519 device, which the agent approves on each new gateway so the proxy's
 * connections keep their scopes (OPENCLAW.md §6).
 */
export const ControlPlaneDevice = z.object({
  deviceId: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only'),
  /** base64url of the raw 32-byte Ed25519 public key. */
  publicKey: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9_-]+={0,2}$/, 'base64url'),
});
export type ControlPlaneDevice = z.infer<typeof ControlPlaneDevice>;

/** A DNS name: lowercase labels of letters, digits and hyphens. */
export const Hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$/, 'a lowercase DNS name');

/**
 * The model a claw's gateway answers with, as OpenClaw takes a custom provider
 * (`models.providers.<id>`: its request adapter, base URL, key and model id). The agent writes it
 * into the claw's own openclaw.json, which only that claw's user can read.
 */
export const GatewayModel = z.object({
  api: z.enum(['openai-completions', 'anthropic-messages']),
  baseUrl: z.url({ protocol: /^https?$/ }).max(2048),
  model: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
  apiKey: z
    .string()
    .min(1)
    .max(4096)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
});
export type GatewayModel = z.infer<typeof GatewayModel>;

/**
 * Names a claw's secrets may not take: the gateway's own runtime controls and OpenClaw's
 * namespaces (docs/help/environment.md), and what the agent sets for every gateway.
 */
const RESERVED_SECRET_NAME =
  /^(OPENCLAW_|CLAWHUB_|CLAWS_|NODE_|NPM_|LD_|DYLD_)|^(PATH|HOME|USER|LOGNAME|TMPDIR|SHELL|PWD|LANG|TZ|LC_[A-Z]+)$/;

/** A secret's name, as OpenClaw substitutes `${NAME}` in its config: `[A-Z_][A-Z0-9_]*`. */
export const SecretName = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'Secret names are upper-case letters, digits and _ (like API_TOKEN)')
  .refine((n) => !RESERVED_SECRET_NAME.test(n), 'That name is reserved for the gateway itself');

/**
 * A claw's named secrets (channel tokens and the like), as the gateway's environment sees them:
 * the agent writes them into `env.vars` of the claw's own openclaw.json, which only that claw's
 * user can read (OpenClaw applies them to its environment at start).
 */
export const GatewaySecrets = z.record(
  SecretName,
  z
    .string()
    .min(1)
    .max(16_384)
    .refine((v) => !v.includes('\0'), 'A secret value cannot contain a NUL byte'),
);
export type GatewaySecrets = z.infer<typeof GatewaySecrets>;

/** POST /claws. Idempotent per claw: the same claw on the same port with the same token is a no-op. */
export const StartClawRequest = z.object({
  clawId: ClawId,
  port: z.number().int().min(1024).max(65535),
  gatewayToken: z
    .string()
    .min(16)
    .max(512)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
  controlPlaneDevice: ControlPlaneDevice.optional(),
  /**
   * The claw's hostname (`claw-<id>.<tunnel suffix>`): the Mini's edge routes requests for it to
   * this claw's gateway. Absent (older control planes): the agent derives it from its own suffix.
   */
  hostname: Hostname.optional(),
  /**
   * Token rotation: a claw that runs with another token is restarted with this one (its state
   * directory kept), instead of the request being refused as a conflict.
   */
  replaceToken: z.boolean().optional(),
  /**
   * The claw's model. The control plane's word wins: a claw that runs with another model (or none)
   * is restarted with this one, its state kept; absent means the base config's model, if any.
   */
  model: GatewayModel.optional(),
  /** The claw's named secrets; like the model, a claw that runs with others is restarted with these. */
  secrets: GatewaySecrets.optional(),
});
export type StartClawRequest = z.infer<typeof StartClawRequest>;

/** What the agent's supervisor makes of a claw's gateway. */
export const ClawStatus = z.enum(['starting', 'running', 'stopped', 'failed']);
export type ClawStatus = z.infer<typeof ClawStatus>;

export const OkResponse = z.object({ ok: z.literal(true) });
export type OkResponse = z.infer<typeof OkResponse>;

/** Every failure, whatever its status code; a 400 also lists the request's issues. */
/**
 * Why the agent refused, where the control plane acts on the reason itself: `port_in_use`, the
 * requested port is held by a process that is not one of this agent's gateways; `backup_invalid`,
 * a backup to restore is not the one promised (size, sha256) or the gateway refuses it, so asking
 * again with the same backup will not help.
 */
export const RefusalCode = z.enum(['port_in_use', 'backup_invalid']);
export type RefusalCode = z.infer<typeof RefusalCode>;

export const ErrorResponse = z.object({
  ok: z.literal(false),
  error: z.string(),
  code: RefusalCode.optional(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;

/** How a gateway process ended on its own: its exit code or signal, and the crash streak it makes. */
export const GatewayExit = z.object({
  code: z.number().int().nullable(),
  signal: z.string().max(32).nullable(),
  at: z.iso.datetime({ offset: true }),
  /** Exits in a row that came before the gateway stayed up long enough to count as stable. */
  crashesInARow: z.number().int().min(0),
  /** The agent gave up restarting it (a crash loop): the claw's gateway is `failed` until started again. */
  gaveUp: z.boolean(),
});
export type GatewayExit = z.infer<typeof GatewayExit>;

/** GET /claws/:id/status. */
export const ClawStatusReport = z.object({
  status: ClawStatus,
  /** Whether the gateway has approved the control plane's device. */
  paired: z.boolean(),
  /**
   * The agent has approved the device's pending request and waits for the gateway's answer: the
   * gateway may already let the device in while `paired` is still false.
   */
  pairingApproving: z.boolean().optional(),
  deviceId: z.string().optional(),
  /** Why the device is not paired yet (no request seen, pairing RPCs refused, …). */
  pairingError: z.string().optional(),
  pid: z.number().int().optional(),
  restarts: z.number().int().nonnegative(),
  error: z.string().optional(),
  /** The gateway's last unexpected exit (stops the agent was asked for are not one). */
  lastExit: GatewayExit.optional(),
});
export type ClawStatusReport = z.infer<typeof ClawStatusReport>;

/** One claw of GET /claws: its status report and where it runs. */
export const ClawSummary = ClawStatusReport.extend({ clawId: z.string(), port: z.number().int() });
export type ClawSummary = z.infer<typeof ClawSummary>;

export const ListClawsResponse = z.object({ ok: z.literal(true), claws: z.array(ClawSummary) });
export type ListClawsResponse = z.infer<typeof ListClawsResponse>;

export const HealthResponse = z.object({
  ok: z.literal(true),
  claws: z.number().int().nonnegative(),
  version: z.string(),
  /** The Mini's physical memory, MB (placement weighs claws against it). */
  memoryMb: z.number().int().positive().optional(),
  /** What its claws' processes hold resident now, MB (the latest usage samples, summed). */
  clawsMemoryMb: z.number().int().nonnegative().optional(),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

// ─── Durable claws: backup and restore ───────────────────────────────────────────────────────

/**
 * A presigned object-store request the control plane hands the agent, which holds no bucket
 * credentials: it sends exactly this method to exactly this URL with these headers. The URL's query
 * string is the credential; the agent never logs or echoes it.
 */
export const PresignedRequest = z.object({
  url: z.url({ protocol: /^https?$/ }).max(4096),
  method: z.enum(['PUT', 'GET']),
  headers: z.record(z.string().max(128), z.string().max(4096)).default({}),
  expiresAt: z.iso.datetime({ offset: true }),
});
export type PresignedRequest = z.infer<typeof PresignedRequest>;

/** A lowercase hex SHA-256 digest. */
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits');

/** POST /claws/:id/backup: the archive goes to `upload` (a PUT). */
export const BackupClawRequest = z.object({
  backupId: ClawId,
  upload: PresignedRequest.extend({ method: z.literal('PUT') }),
});
export type BackupClawRequest = z.infer<typeof BackupClawRequest>;
/** What a caller builds: `headers` may be left out (it defaults to none). */
export type BackupClawInput = z.input<typeof BackupClawRequest>;

/** The uploaded archive: its size and digest (what a restore must present again), and when it was taken. */
export const BackupClawResponse = z.object({
  ok: z.literal(true),
  bytes: z.number().int().nonnegative(),
  sha256: Sha256Hex,
  createdAt: z.iso.datetime({ offset: true }),
});
export type BackupClawResponse = z.infer<typeof BackupClawResponse>;

/** POST /claws/:id/restore: the archive comes from `download` (a GET) and must match `bytes` and `sha256`. */
export const RestoreClawRequest = z.object({
  backupId: ClawId,
  download: PresignedRequest.extend({ method: z.literal('GET') }),
  /** Any case; compared in lowercase. */
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, '64 hex digits')
    .transform((h) => h.toLowerCase()),
  bytes: z.number().int().nonnegative(),
});
export type RestoreClawRequest = z.infer<typeof RestoreClawRequest>;
export type RestoreClawInput = z.input<typeof RestoreClawRequest>;

/** A gateway output line's level, where the line states one. */
export const LogLevel = z.enum(['debug', 'info', 'warn', 'error']);
export type LogLevel = z.infer<typeof LogLevel>;

export const LogLine = z.object({
  text: z.string(),
  level: LogLevel.nullable(),
  /** The time the line states, as it states it. */
  at: z.string().nullable(),
});
export type LogLine = z.infer<typeof LogLine>;

/**
 * GET /claws/:id/logs?limit=N: the last N lines of the gateway's output; `&after=<offset>`: the
 * lines written after that byte offset (a follow: ask again with the offset answered).
 */
export const ClawLogsQuery = z.object({
  after: z.coerce.number().int().min(0).optional(),
  /** The `file` answered with `after`: another one means the log was rotated since. */
  file: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(2000).default(200),
});
export type ClawLogsQuery = z.input<typeof ClawLogsQuery>;

export const ClawLogs = z.object({
  lines: z.array(LogLine),
  /** Where the next follow starts: this offset in this file (its inode). */
  offset: z.number().int().min(0),
  file: z.number().int().min(0),
  /** The file was rotated since `after`: these lines start the new one. */
  rotated: z.boolean(),
});
export type ClawLogs = z.infer<typeof ClawLogs>;
export const ClawLogsResponse = ClawLogs.extend({ ok: z.literal(true) });

/** One sample of what a claw's processes use. */
export const UsageSample = z.object({
  at: z.iso.datetime({ offset: true }),
  rssBytes: z.number().int().min(0),
  /** CPU since the previous sample, in percent of one core. */
  cpuPercent: z.number().min(0),
  processes: z.number().int().min(0),
});
export type UsageSample = z.infer<typeof UsageSample>;

/** GET /claws/:id/usage: the last samples (oldest first) and the disk the claw's directory takes. */
export const ClawUsage = z.object({ diskBytes: z.number().int().min(0), samples: z.array(UsageSample) });
export type ClawUsage = z.infer<typeof ClawUsage>;
export const ClawUsageResponse = ClawUsage.extend({ ok: z.literal(true) });
