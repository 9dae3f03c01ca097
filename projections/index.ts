import type { InlineProjection } from '../events/projection';
import { clawBackupsProjection } from './claw-backups';
import { clawsProjection } from './claws';
import { miniAllocationProjection } from './mini-allocation';
import { minisProjection } from './minis';

/**
 * Every inline projection, in the order a rebuild writes them: the Minis, then the claws, then the
 * allocation counts they put on the Minis and the backups they hold. The runtime registers exactly these with its event store.
 */
export const inlineProjections: readonly InlineProjection[] = [
  minisProjection,
  clawsProjection,
  miniAllocationProjection,
  clawBackupsProjection,
];
