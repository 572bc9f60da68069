/**
 * Structured logs: one JSON line per event on standard error, with the node id, so the
 * lines of several nodes (as `shoal dev` prints them) can be told apart and parsed.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  (event: string, fields?: Record<string, unknown>, level?: LogLevel): void;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(options: {
  node: string;
  level?: LogLevel;
  write?: (line: string) => void;
  now?: () => number;
}): Logger {
  const min = order[options.level ?? ((process.env['SHOAL_LOG_LEVEL'] as LogLevel | undefined) ?? 'info')] ?? order.info;
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = options.now ?? (() => Date.now());
  return (event, fields = {}, level = 'info') => {
    if (order[level] < min) return;
    const rec: Record<string, unknown> = { ts: new Date(now()).toISOString(), level, node: options.node, event };
    for (const [k, v] of Object.entries(fields)) rec[k] = v instanceof Error ? { message: v.message, code: (v as { code?: unknown }).code } : v;
    write(JSON.stringify(rec));
  };
}

/** A logger that drops everything (tests, simulator). */
export const silentLogger: Logger = () => {};
