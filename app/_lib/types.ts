import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@/server/trpc/routers/_app';

type Outputs = inferRouterOutputs<AppRouter>;

/** A claw as the dashboard shows it (claws.get, claws.list, claws.onChange). */
export type Claw = Outputs['claws']['get'];
/** One entry of a claw's audit timeline (claws.timeline, claws.onTimeline). */
export type TimelineEntry = Outputs['claws']['timeline'][number];
