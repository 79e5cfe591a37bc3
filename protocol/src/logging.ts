import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Keys whose values never reach a log line, at any depth pino's redaction reaches (top level and one
 * object below). Embeddings and templates are dropped by {@link scrubValue} wherever they are.
 */
const secretKeys = [
  'password',
  'passwd',
  'secret',
  'token',
  'authorization',
  'cookie',
  'key',
  'privateKey',
  'siteKey',
  'cacheKey',
  'apiToken',
  'embedding',
  'template',
  'templates',
  'photo',
  'image',
];
const redactPaths = [...secretKeys, ...secretKeys.map((k) => `*.${k}`)];

const credentialUrl = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+(?::[^\s/@]*)?@/gi;

/** Removes user:password from any URL in a string (rtsp://user:pw@cam/ -> rtsp://***@cam/). */
export function scrubUrlCredentials(text: string): string {
  return text.replace(credentialUrl, '$1***@');
}

const maxNumericArray = 32;

/** Makes a value safe to log: credential URLs scrubbed, long numeric vectors (embeddings) replaced. */
export function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubUrlCredentials(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) return `[binary ${value.byteLength} bytes]`;
  if (Array.isArray(value)) {
    if (value.length > maxNumericArray && value.every((v) => typeof v === 'number')) {
      return `[${value.length} numbers]`;
    }
    return value.map((v) => scrubValue(v, depth + 1));
  }
  if (value instanceof Error) return scrubValue(pino.stdSerializers.err(value), depth + 1);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, depth + 1);
  return out;
}

export interface LoggerSettings {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  name: string;
}

/** The root logger of a program; components take `logger.child({ component })`. */
export function createLogger(settings: LoggerSettings, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    name: settings.name,
    level: settings.level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    formatters: { log: (object) => scrubValue(object) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubUrlCredentials(a) : a));
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
    serializers: { err: pino.stdSerializers.err },
  };
  return destination ? pino(options, destination) : pino(options);
}
