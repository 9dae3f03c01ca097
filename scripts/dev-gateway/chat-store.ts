import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ChatMessage } from './chat';

/**
 * The dev gateway's chat history on disk, so it is real state: it survives a restart, and a backup
 * of the state directory carries it. One JSON file in the state directory, replaced whole and
 * atomically on every change (temp file, fsync, rename; 0600), so a reader (the backup command,
 * another process) always sees a complete version, and a crash leaves the previous one.
 */

export const HISTORY_FILE = 'dev-gateway-chat.json';

export interface SavedHistory {
  version: 1;
  /** The engine's last message sequence number, so new messages keep counting up. */
  seq: number;
  sessions: Record<string, ChatMessage[]>;
}

/** Parses a history file's text; throws when it is not one. */
export function parseHistoryFile(text: string): SavedHistory {
  const data = JSON.parse(text) as Partial<SavedHistory>;
  if (
    data.version !== 1 ||
    typeof data.seq !== 'number' ||
    !data.sessions ||
    typeof data.sessions !== 'object'
  )
    throw new Error('not a dev gateway chat history');
  for (const list of Object.values(data.sessions))
    if (!Array.isArray(list)) throw new Error('not a dev gateway chat history');
  return data as SavedHistory;
}

export class ChatHistoryFile {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, HISTORY_FILE);
  }

  /** What the last run saved; nothing when there is no file yet. A corrupt file is an error. */
  load(): SavedHistory | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    return parseHistoryFile(text);
  }

  save(history: SavedHistory): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(history));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.renameSync(tmp, this.file);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }
}
