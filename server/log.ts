/**
 * One-line JSON logs. Callers pass fields, never secrets: tokens and keys stay out of every field.
 */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/**
 * The last guard for what callers cannot vet, such as a driver's error message: the password of a
 * URL (`postgres://user:secret@host`) and `password=…` pairs never reach a log line.
 */
export function redactCredentials(line: string): string {
  return line
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@"]+:)[^\s@"]+@/gi, '$1***@')
    .replace(/(password=)[^\s&;"]+/gi, '$1***');
}

const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof levels;

export function createLogger(
  level: LogLevel = 'info',
  base: Record<string, unknown> = {},
  write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Logger {
  const at = (lvl: Exclude<LogLevel, 'silent'>) => (msg: string, fields?: Record<string, unknown>) => {
    if (levels[lvl] < levels[level]) return;
    write(
      redactCredentials(JSON.stringify({ t: new Date().toISOString(), level: lvl, msg, ...base, ...fields })),
    );
  };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (fields) => createLogger(level, { ...base, ...fields }, write),
  };
}

export const silentLogger = createLogger('silent');
