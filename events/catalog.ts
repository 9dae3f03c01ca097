import { z } from 'zod';

/**
 * The event catalog: every event Claws records, with the zod schema its data must satisfy.
 * Secrets never appear here; events carry fingerprints of them instead.
 */
const uuid = z.uuid();
const port = z.number().int().min(1).max(65535);
const isoTime = z.iso.datetime({ offset: true });
const errorText = z.string().min(1).max(2000);
export const STEPS = [
  'allocate',
  'start_agent',
  'create_bucket',
  'wait_ready',
  'stop_agent',
  'delete_bucket',
] as const;
const step = z.enum(STEPS);
export type ProvisioningStep = z.infer<typeof step>;
export const TARGETS = ['mac-mini', 'cloudflare'] as const;

export const clawEventSchemas = {
  ClawRequested: z.object({
    clawId: uuid,
    orgId: uuid,
    slug: z.string().min(1).max(63),
    name: z.string().min(1).max(100),
    target: z.enum(TARGETS),
    requestedBy: z.string().min(1),
    tokenFingerprint: z.string().min(8).max(64),
  }),
  MiniAllocated: z.object({ miniId: uuid, port, tunnelHostname: z.string().min(1).max(253) }),
  AgentStarted: z.object({ miniId: uuid, port }),
  BucketCreated: z.object({ bucket: z.string().min(3).max(63) }),
  GatewayPaired: z.object({ deviceId: z.string().regex(/^[0-9a-f]{64}$/) }),
  ClawActive: z.object({ warmupMs: z.number().int().min(0) }),
  ProvisioningStepFailed: z.object({
    step,
    attempt: z.number().int().min(1),
    error: errorText,
    retryAt: isoTime,
  }),
  ProvisioningFailed: z.object({ step, error: errorText }),
  ClawRetryRequested: z.object({ requestedBy: z.string().min(1) }),
  ClawDeletionRequested: z.object({ requestedBy: z.string().min(1) }),
  AgentStopped: z.object({ miniId: uuid }),
  BucketDeleted: z.object({ bucket: z.string().min(3).max(63) }),
  AllocationReleased: z.object({ miniId: uuid, port }),
  ClawDeleted: z.object({}),
} as const;

export const miniEventSchemas = {
  MiniRegistered: z.object({
    miniId: uuid,
    hostname: z.string().min(1).max(253),
    agentUrl: z.url(),
    tunnelSuffix: z.string().min(1).max(200),
    portRangeStart: port,
    portRangeEnd: port,
    capacity: z.number().int().min(1).max(10_000),
    agentTokenFingerprint: z.string().min(8).max(64),
  }),
  MiniUpdated: z.object({
    hostname: z.string().min(1).max(253).optional(),
    agentUrl: z.url().optional(),
    tunnelSuffix: z.string().min(1).max(200).optional(),
    portRangeStart: port.optional(),
    portRangeEnd: port.optional(),
    capacity: z.number().int().min(1).max(10_000).optional(),
    agentTokenFingerprint: z.string().min(8).max(64).optional(),
  }),
  MiniCordoned: z.object({ reason: z.string().max(500).optional() }),
  MiniUncordoned: z.object({}),
  MiniWentOffline: z.object({ error: errorText }),
  MiniCameOnline: z.object({}),
  MiniRemoved: z.object({}),
} as const;

export const eventSchemas = { ...clawEventSchemas, ...miniEventSchemas } as const;

type Schemas = typeof eventSchemas;
export type EventType = keyof Schemas;
export type ClawEventType = keyof typeof clawEventSchemas;
export type MiniEventType = keyof typeof miniEventSchemas;

/** A domain event: a type and its data, as commands produce it. */
export type DomainEvent = { [K in EventType]: { type: K; data: z.infer<Schemas[K]> } }[EventType];
export type ClawEvent = Extract<DomainEvent, { type: ClawEventType }>;
export type MiniEvent = Extract<DomainEvent, { type: MiniEventType }>;
export type EventOf<K extends EventType> = Extract<DomainEvent, { type: K }>;

export const CLAW_EVENT_TYPES = Object.keys(clawEventSchemas) as ClawEventType[];
export const MINI_EVENT_TYPES = Object.keys(miniEventSchemas) as MiniEventType[];

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventSchemas, type);
}
export function isClawEvent(e: { type: string }): e is ClawEvent {
  return Object.hasOwn(clawEventSchemas, e.type);
}
export function isMiniEvent(e: { type: string }): e is MiniEvent {
  return Object.hasOwn(miniEventSchemas, e.type);
}

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
  constructor(
    readonly eventType: string,
    readonly issues: z.core.$ZodIssue[],
  ) {
    super(
      `Invalid ${eventType} event: ` +
        (issues.length
          ? issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`).join('; ')
          : 'unknown type'),
    );
  }
}

/** Validates an event's data against its schema; returns the parsed (stripped) event. */
export function parseEvent(event: { type: string; data: unknown }): DomainEvent {
  if (!isEventType(event.type)) throw new InvalidEventError(event.type, []);
  const result = eventSchemas[event.type].safeParse(event.data);
  if (!result.success) throw new InvalidEventError(event.type, result.error.issues);
  return { type: event.type, data: result.data } as DomainEvent;
}

/** Streams are `claw-<uuid>` and `mini-<uuid>`; an event type belongs to exactly one category. */
export const clawStream = (clawId: string) => `claw-${clawId}`;
export const miniStream = (miniId: string) => `mini-${miniId}`;
export function streamCategory(streamId: string): 'claw' | 'mini' {
  if (streamId.startsWith('claw-')) return 'claw';
  if (streamId.startsWith('mini-')) return 'mini';
  throw new Error(`Unknown stream category: ${streamId}`);
}
export const streamEntityId = (streamId: string) => streamId.slice(streamId.indexOf('-') + 1);
