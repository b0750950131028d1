/**
 * The one logging seam. Library code never writes to the console; it calls a Logger. The default logger drops
 * everything below `warn` and writes warnings and errors to stderr, so a library user sees problems and nothing else.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const noop = (): void => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

function write(level: string, message: string, fields?: Record<string, unknown>): void {
  // Browsers have no stderr: there the default logger stays silent (pass a Logger to see messages).
  const stderr = (globalThis as { process?: { stderr?: { write(text: string): unknown } } }).process?.stderr;
  if (!stderr) return;
  const extra = fields ? ' ' + JSON.stringify(fields, (_k, v) => (v instanceof Error ? v.message : v)) : '';
  stderr.write(`${new Date().toISOString()} ${level} ${message}${extra}\n`);
}

export const stderrLogger: Logger = {
  debug: noop,
  info: noop,
  warn: (m, f) => write('WARN', m, f),
  error: (m, f) => write('ERROR', m, f),
};

/** Logs everything, for the CLI's --verbose and for debugging. */
export const verboseLogger: Logger = {
  debug: (m, f) => write('DEBUG', m, f),
  info: (m, f) => write('INFO', m, f),
  warn: (m, f) => write('WARN', m, f),
  error: (m, f) => write('ERROR', m, f),
};
