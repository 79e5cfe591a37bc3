import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ProtocolErrorCode, protocolError } from './errors.ts';

/**
 * Where a secret lives. Secrets are never written inline in a config file: either a file path
 * (mode 0600 or stricter) or the name of a systemd credential (LoadCredential=) read from
 * $CREDENTIALS_DIRECTORY.
 */
export const secretRefSchema = z
  .union([
    z.strictObject({ file: z.string().min(1).describe('Path of a file holding the secret (mode 0600).') }),
    z.strictObject({
      credential: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+$/)
        .describe('Name of a systemd credential (LoadCredential=NAME:...).'),
    }),
  ])
  .describe('Reference to a secret: {"file": PATH} or {"credential": NAME}; never the secret itself.');
export type SecretRef = z.infer<typeof secretRefSchema>;

/** What the program's entry point read from its environment, passed down instead of process.env. */
export interface SecretEnvironment {
  credentialsDirectory?: string | undefined;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, part) =>
      typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part),
    '',
  );
}

/** Formats zod issues as `key.path: what is wrong` lines. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = formatPath(issue.path) || '(root)';
    if (issue.code === 'unrecognized_keys') {
      return `${where}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; remove them or check the spelling`;
    }
    return `${where}: ${issue.message}`;
  });
}

/** Parses a program's config once, at start-up. Throws TP_CONFIG_INVALID naming every bad key path. */
export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = describeIssues(result.error);
  throw protocolError(
    ProtocolErrorCode.configInvalid,
    `invalid config in ${source}:\n  ${problems.join('\n  ')}`,
    { source, problems },
  );
}

/** Reads a JSON config file; a missing file is an error (embedded defaults apply only when no file is given). */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw protocolError(
      ProtocolErrorCode.configUnreadable,
      `cannot read config file ${path}`,
      { path },
      cause,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw protocolError(
      ProtocolErrorCode.configUnreadable,
      `config file ${path} is not valid JSON: ${(cause as Error).message}`,
      { path },
      cause,
    );
  }
}

/** Reads a secret's bytes. Files readable by group or others are refused: fix with `chmod 600`. */
export function readSecret(ref: SecretRef, env: SecretEnvironment): Buffer {
  let path: string;
  if ('file' in ref) {
    path = ref.file;
  } else {
    if (!env.credentialsDirectory) {
      throw protocolError(
        ProtocolErrorCode.secretMissing,
        `credential "${ref.credential}" requested but $CREDENTIALS_DIRECTORY is not set; run under systemd with LoadCredential= or use {"file": PATH}`,
        { credential: ref.credential },
      );
    }
    path = join(env.credentialsDirectory, ref.credential);
  }
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (cause) {
    throw protocolError(
      ProtocolErrorCode.secretMissing,
      `secret file ${path} does not exist or cannot be read`,
      { path },
      cause,
    );
  }
  if ('file' in ref && (mode & 0o077) !== 0) {
    throw protocolError(
      ProtocolErrorCode.secretInsecure,
      `secret file ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${path}`,
      { path },
    );
  }
  try {
    return readFileSync(path);
  } catch (cause) {
    throw protocolError(
      ProtocolErrorCode.secretMissing,
      `secret file ${path} cannot be read`,
      { path },
      cause,
    );
  }
}

export interface ProgramArgs {
  configPath: string | undefined;
  checkConfig: boolean;
  /** `--config-schema`: print the config's JSON Schema (every key, its default and what it does). */
  printSchema: boolean;
  rest: string[];
}

/** Splits `--config PATH`, `--check-config` and `--config-schema` off a program's arguments. */
export function parseProgramArgs(argv: readonly string[]): ProgramArgs {
  const rest: string[] = [];
  let configPath: string | undefined;
  let checkConfig = false;
  let printSchema = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--check-config') checkConfig = true;
    else if (arg === '--config-schema') printSchema = true;
    else if (arg === '--config') configPath = argv[++i];
    else if (arg.startsWith('--config=')) configPath = arg.slice('--config='.length);
    else rest.push(arg);
  }
  return { configPath, checkConfig, printSchema, rest };
}

/**
 * The JSON Schema of a config as its file is written (defaults filled in by the program, so optional here),
 * with each key's description: the reference of every setting, and what editors validate a file against.
 */
export function configJsonSchema(schema: z.ZodType): string {
  return `${JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), null, 2)}\n`;
}
