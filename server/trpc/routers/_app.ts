import { router } from '../init';
import { accountRouter } from './account';
import { apiTokensRouter } from './api-tokens';
import { authRouter } from './auth';
import { invitationsRouter } from './invitations';
import { platformRouter } from './platform';
import { clawsRouter } from './claws';
import { fleetRouter } from './fleet';
import { orgsRouter } from './orgs';

export const appRouter = router({
  auth: authRouter,
  orgs: orgsRouter,
  claws: clawsRouter,
  fleet: fleetRouter,
  account: accountRouter,
  invitations: invitationsRouter,
  apiTokens: apiTokensRouter,
  platform: platformRouter,
});

export type AppRouter = typeof appRouter;
