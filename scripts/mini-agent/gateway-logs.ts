import fs from 'node:fs';
import type { ClawLogs, LogLine } from '../../server/fleet/agent-api';

/**
 * A claw's gateway output (its stdout and stderr, gateway.log, rotated at 5 MB by gateway-files.ts)
 * as lines for the control plane: the tail, or what came after a byte offset the caller got last
 * time (its follow). Every line is redacted (the gateway token, the model key) before it leaves the
 * Mini, and gets the level and time it states, where it states them.
 */

/** How far back a tail reads: enough for a few thousand lines, never the whole file. */
const TAIL_WINDOW = 512 * 1024;
/** The most a follow reads at once; the caller asks again from the offset it got. */
const FOLLOW_WINDOW = 256 * 1024;
const MAX_LINE = 4000;

export function readGatewayLog(
  file: string,
  query: { after?: number; file?: number; limit: number },
  secrets: readonly string[],
): ClawLogs {
  let size: number;
  let inode: number;
  try {
    ({ size, ino: inode } = fs.statSync(file));
  } catch {
    return { lines: [], offset: 0, file: 0, rotated: false };
  }
  // Another file, or an offset past the end: the log was rotated (or replaced) since; read the new
  // one from its start.
  const rotated =
    query.after !== undefined && ((query.file !== undefined && query.file !== inode) || query.after > size);
  const follow = query.after !== undefined;
  const start = follow ? (rotated ? 0 : query.after!) : Math.max(0, size - TAIL_WINDOW);
  const end = Math.min(size, follow ? start + FOLLOW_WINDOW : size);
  const text = readRange(file, start, end);
  // A follow stops at the last complete line (the rest comes next time); a tail drops a partial first line.
  const cut = follow ? text.lastIndexOf('\n') + 1 : text.length;
  const body = text.slice(0, cut);
  let lines = body.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (!follow && start > 0) lines = lines.slice(1);
  const taken = follow ? lines.slice(0, query.limit) : lines.slice(-query.limit);
  const consumed = follow
    ? Buffer.byteLength(taken.map((l) => `${l}\n`).join(''), 'utf8')
    : Buffer.byteLength(body, 'utf8');
  return {
    lines: taken.map((l) => parseLogLine(redact(l, secrets))),
    offset: follow ? start + consumed : end,
    file: inode,
    rotated,
  };
}

function readRange(file: string, start: number, end: number): string {
  if (end <= start) return '';
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const buf = Buffer.alloc(end - start);
    const n = fs.readSync(fd, buf, 0, buf.length, start);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

const redact = (line: string, secrets: readonly string[]) =>
  secrets.reduce((t, s) => (s.length >= 4 ? t.split(s).join('[redacted]') : t), line);

const LEVELS: Record<string, LogLine['level']> = {
  trace: 'debug',
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'error',
  panic: 'error',
};
const TEXT_LEVEL = /\b(TRACE|DEBUG|INFO|NOTICE|WARN(?:ING)?|ERR(?:OR)?|FATAL|PANIC)\b/i;
const TEXT_TIME = /\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/;

/** A line's level and time: from its JSON fields (a JSON-lines logger), else from its words. */
export function parseLogLine(raw: string): LogLine {
  const text = raw.length > MAX_LINE ? `${raw.slice(0, MAX_LINE)}…` : raw;
  if (raw.startsWith('{')) {
    try {
      const j = JSON.parse(raw) as Record<string, unknown>;
      const lvl = j.level ?? j.lvl ?? j.severity;
      const at = j.time ?? j.t ?? j.ts ?? j.timestamp;
      return {
        text,
        level: typeof lvl === 'string' ? (LEVELS[lvl.toLowerCase()] ?? null) : numericLevel(lvl),
        at: typeof at === 'string' ? at : typeof at === 'number' ? new Date(at).toISOString() : null,
      };
    } catch {
      /* not JSON after all: read it as words */
    }
  }
  const level = TEXT_LEVEL.exec(raw)?.[1]?.toLowerCase();
  return { text, level: level ? (LEVELS[level] ?? null) : null, at: TEXT_TIME.exec(raw)?.[0] ?? null };
}

/** pino's numbers: 10 trace … 60 fatal. */
function numericLevel(v: unknown): LogLine['level'] {
  if (typeof v !== 'number') return null;
  return v >= 50 ? 'error' : v >= 40 ? 'warn' : v >= 30 ? 'info' : 'debug';
}
