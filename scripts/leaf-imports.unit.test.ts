import assert from 'node:assert/strict';
import fs from 'node:fs';
import { isBuiltin } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

/**
 * The Mini agent and the dev gateway run on a Mini, without the control plane: everything they
 * import, transitively (type-only imports too), must be their own code, one of a few leaf modules
 * they share with the control plane, Node's built-ins, or a small package. Nothing may reach the
 * database, the event store, projections, tRPC, the server runtime or Next.
 */

const repoRoot = path.resolve(import.meta.dirname, '..');
const ENTRIES = ['scripts/mini-agent.ts', 'scripts/dev-gateway.ts'];

const OWN_CODE = /^scripts\/(mini-agent|dev-gateway)(\.ts$|\/)/;
const SHARED_LEAVES = new Set([
  'server/fleet/agent-api.ts',
  'server/fleet/agent-tls.ts',
  'server/log.ts',
  'server/gateway/openclaw-client.ts',
  'server/gateway/device-identity.ts',
]);
const PACKAGES = new Set(['zod', 'ws']);
/** Named in the failure, so it says what went wrong and not only that something did. */
const FORBIDDEN =
  /^(db\/|events\/|projections\/|app\/|server\/(trpc|runtime|config|main)\b)|^(next|kysely|pg|@trpc\/|@electric-sql\/pglite|react)/;

interface Violation {
  /** Repo path, or `package <name>`. */
  target: string;
  /** Entry first, then each importer down to the one that imports `target`. */
  chain: string[];
  forbidden: boolean;
}

/**
 * Every `from '…'`, statement-level `import '…'` and `import('…')` specifier; matching a string
 * that is no import only makes this stricter.
 */
const SPECIFIER =
  /\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]/gm;

function specifiers(source: string): string[] {
  return [...source.matchAll(SPECIFIER)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

function resolveFile(root: string, fromFile: string, spec: string): string | undefined {
  const base = spec.startsWith('@/')
    ? path.join(root, spec.slice(2))
    : path.resolve(path.dirname(path.join(root, fromFile)), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')])
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return path.relative(root, candidate);
  return undefined;
}

const packageName = (spec: string) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

/**
 * Walks the import graph from `entries` (paths relative to `root`): the files it reached, and what
 * they import that they may not.
 */
function walkImports(
  root: string,
  entries: string[],
  allowed: { own: RegExp; leaves: ReadonlySet<string>; packages: ReadonlySet<string> },
): { reached: Set<string>; violations: Violation[] } {
  const violations: Violation[] = [];
  const seen = new Set<string>();
  const queue = entries.map((e) => ({ file: e, chain: [e] }));
  while (queue.length) {
    const { file, chain } = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of specifiers(fs.readFileSync(path.join(root, file), 'utf8'))) {
      if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('@/')) {
        const target = resolveFile(root, file, spec);
        if (!target) {
          violations.push({ target: `unresolved ${spec}`, chain, forbidden: false });
          continue;
        }
        if (allowed.own.test(target) || allowed.leaves.has(target))
          queue.push({ file: target, chain: [...chain, target] });
        else violations.push({ target, chain, forbidden: FORBIDDEN.test(target) });
        continue;
      }
      if (isBuiltin(spec)) continue;
      const name = packageName(spec);
      if (!allowed.packages.has(name))
        violations.push({ target: `package ${name}`, chain, forbidden: FORBIDDEN.test(name) });
    }
  }
  return { reached: seen, violations };
}

const describeViolation = (v: Violation) =>
  `${v.forbidden ? 'FORBIDDEN ' : ''}${v.target} via ${v.chain.join(' → ')}`;

describe('the agent and the dev gateway import only leaves', () => {
  it('reaches nothing but their own code, the shared leaves, built-ins, zod and ws', () => {
    const { reached, violations } = walkImports(repoRoot, ENTRIES, {
      own: OWN_CODE,
      leaves: SHARED_LEAVES,
      packages: PACKAGES,
    });
    assert.deepEqual(violations.map(describeViolation), []);
    // It did walk: both programs' modules and every shared leaf.
    for (const file of [
      'scripts/mini-agent/supervisor.ts',
      'scripts/dev-gateway/methods.ts',
      ...SHARED_LEAVES,
    ])
      assert.ok(reached.has(file), `${file} was not reached`);
  });

  it('the shared leaves import only packages and built-ins', () => {
    const { violations } = walkImports(repoRoot, [...SHARED_LEAVES], {
      own: /^$/,
      leaves: SHARED_LEAVES,
      packages: PACKAGES,
    });
    assert.deepEqual(violations.map(describeViolation), []);
  });

  it('catches a forbidden import however deep it sits, and says through which files', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'claws-leaf-imports-'));
    try {
      const write = (file: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        fs.writeFileSync(path.join(root, file), text);
      };
      write('scripts/mini-agent.ts', `import { a } from './mini-agent/a';\nimport 'zod';\n`);
      write(
        'scripts/mini-agent/a.ts',
        `import type { Log } from '../../server/log';\nexport { b } from "./b";\n`,
      );
      write(
        'scripts/mini-agent/b.ts',
        `import {\n  db,\n} from '../../db/kysely';\nconst k = await import('kysely');\n`,
      );
      write('server/log.ts', `import { createHash } from 'node:crypto';\nimport fs from 'fs';\n`);
      write('db/kysely.ts', `export const db = 1;\n`);
      const { violations } = walkImports(root, ['scripts/mini-agent.ts'], {
        own: OWN_CODE,
        leaves: new Set(['server/log.ts']),
        packages: PACKAGES,
      });
      assert.deepEqual(violations.map(describeViolation), [
        'FORBIDDEN db/kysely.ts via scripts/mini-agent.ts → scripts/mini-agent/a.ts → scripts/mini-agent/b.ts',
        'FORBIDDEN package kysely via scripts/mini-agent.ts → scripts/mini-agent/a.ts → scripts/mini-agent/b.ts',
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
