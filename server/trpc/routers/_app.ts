import { router } from '../init';
import { authRouter } from './auth';
import { clawsRouter } from './claws';
import { fleetRouter } from './fleet';
import { orgsRouter } from './orgs';

export const appRouter = router({
  auth: authRouter,
  orgs: orgsRouter,
  claws: clawsRouter,
  fleet: fleetRouter,
});

export type AppRouter = typeof appRouter;
