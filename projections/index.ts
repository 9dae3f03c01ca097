import type { InlineProjection } from '../events/projection';
import { clawsProjection } from './claws';
import { miniAllocationProjection } from './mini-allocation';
import { minisProjection } from './minis';

/**
 * Every inline projection, in the order a rebuild writes them: the Minis, then the claws, then the
 * allocation counts they put on the Minis. The runtime registers exactly these with its event store.
 */
export const inlineProjections: readonly InlineProjection[] = [
  minisProjection,
  clawsProjection,
  miniAllocationProjection,
];
