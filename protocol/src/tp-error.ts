/**
 * The one error class of TruePresence. Every workspace lists its stable codes in its own `errors.ts`;
 * a code names what went wrong and the message says what to do about it. Codes are never reused.
 */
export class TpError extends Error {
  override readonly name = 'TpError';
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }

  toJSON(): { code: string; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isTpError(error: unknown, code?: string): error is TpError {
  return error instanceof TpError && (code === undefined || error.code === code);
}

/**
 * A TpError from positional arguments; each workspace binds it to its own code table
 * (`export const hubError = codedError<HubErrorCode>;`) so only its codes type-check.
 */
export function codedError<Code extends string>(
  code: Code,
  message: string,
  details?: Record<string, unknown>,
  cause?: unknown,
): TpError {
  return new TpError(code, message, {
    ...(details ? { details } : {}),
    ...(cause === undefined ? {} : { cause }),
  });
}
