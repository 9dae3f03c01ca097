import { noIsolation, type ClawIsolation, type IsolationKind } from './isolation';
import { linuxIsolation } from './isolation-linux';
import { macosIsolation } from './isolation-macos';

/** The driver an agent's `--isolation` names. */
export function isolationDriver(kind: IsolationKind): ClawIsolation {
  switch (kind) {
    case 'linux':
      return linuxIsolation();
    case 'macos':
      return macosIsolation();
    case 'none':
      return noIsolation;
  }
}
