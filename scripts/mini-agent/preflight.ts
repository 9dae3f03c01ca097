import fs from 'node:fs';
import path from 'node:path';
import type { AgentConfig } from './config';
import { closedToOthers, gatewayCommandClosedToOthers } from './reachability';

/**
 * What must hold before an agent with claw users starts a gateway, checked once at start (and by
 * `doctor`): each claw's user must be able to reach its own directory under the claws directory and
 * run the gateway program, while the agent's state directory stays closed to all of them.
 */

type Layout = Pick<AgentConfig, 'isolation' | 'stateDir' | 'clawsDir' | 'gatewayCommand'>;

const inside = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/** Why claw users could not reach their directories; empty when they can. */
export function clawsDirProblems(config: Layout): string[] {
  if (config.isolation === 'none') return [];
  if (inside(config.clawsDir, config.stateDir))
    return [
      `the claws directory ${config.clawsDir} is inside the agent's state directory ${config.stateDir}, which is closed to claw users (0700); give --claws-dir outside it`,
    ];
  // Up to its parent: the claws directory itself the agent opens to them (0711) when it starts.
  const existing = nearestExisting(path.dirname(path.resolve(config.clawsDir)));
  const why = closedToOthers(existing, 'traverse');
  return why ? [`claw users cannot reach the claws directory ${config.clawsDir}: ${why}`] : [];
}

/** Why claw users could not run the gateway program; empty when they can. */
export function gatewayProgramProblems(config: Layout): string[] {
  if (config.isolation === 'none') return [];
  return gatewayCommandClosedToOthers(config.gatewayCommand).map(
    (why) => `claw users cannot run the gateway command: ${why}`,
  );
}

/** Creates the claws directory (claw users may pass through it, not list it) after the checks. */
export function prepareClawsDir(config: Layout): void {
  const problems = [...clawsDirProblems(config), ...gatewayProgramProblems(config)];
  if (problems.length)
    throw new Error(
      `Cannot run gateways as claw users (--isolation ${config.isolation}):\n  ${problems.join('\n  ')}`,
    );
  const mode = config.isolation === 'none' ? 0o700 : 0o711;
  fs.mkdirSync(config.clawsDir, { recursive: true, mode });
  fs.chmodSync(config.clawsDir, mode);
}

function nearestExisting(p: string): string {
  let dir = path.resolve(p);
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}
