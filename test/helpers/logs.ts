import { createLogger, type Logger } from '@truepresence/protocol';

export interface CapturedLog {
  logger: Logger;
  /** Every log line written so far, as the JSON text pino wrote. */
  lines: string[];
}

/** A real pino logger (the programs' redaction included) whose output is kept in memory. */
export function captureLogger(level: 'debug' | 'info' = 'debug'): CapturedLog {
  const lines: string[] = [];
  const logger = createLogger({ level, name: 'test' }, { write: (line: string) => lines.push(line) });
  return { logger, lines };
}
