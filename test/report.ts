/** Shared output of `npm run eval` and `npm run bench`: one JSON object, or the same as a readable table. */

export interface Section<Context> {
  /** Name used by `--only`. */
  name: string;
  run(context: Context): Promise<Record<string, unknown>>;
  /** Failed targets, as sentences; an empty list passes. Only `--gate` makes them fatal. */
  gate?(result: Record<string, unknown>): string[];
}

function flatten(value: unknown, prefix: string, rows: Array<[string, string]>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, rows);
    return;
  }
  const text =
    typeof value === 'number' && !Number.isInteger(value)
      ? value.toFixed(4).replace(/0+$/, '')
      : JSON.stringify(value);
  rows.push([prefix, text]);
}

export function formatTable(result: Record<string, unknown>): string {
  const rows: Array<[string, string]> = [];
  flatten(result, '', rows);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n');
}

export interface RunOptions {
  argv: string[];
  only: string[];
  json: boolean;
  gate: boolean;
}

export function parseReportArgs(argv: string[]): RunOptions & { data: string | undefined } {
  const options: RunOptions & { data: string | undefined } = {
    argv,
    only: [],
    json: false,
    gate: false,
    data: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') options.json = true;
    else if (arg === '--gate') options.gate = true;
    else if (arg === '--only') options.only.push(...(argv[++i] ?? '').split(','));
    else if (arg === '--data') options.data = argv[++i];
    else throw new Error(`unknown argument ${arg}; use --data DIR, --only a,b, --json, --gate`);
  }
  return options;
}

export async function runSections<Context>(
  sections: Array<Section<Context>>,
  context: Context,
  options: RunOptions,
): Promise<number> {
  const chosen = sections.filter((s) => options.only.length === 0 || options.only.includes(s.name));
  const unknown = options.only.filter((name) => !sections.some((s) => s.name === name));
  if (unknown.length > 0) {
    console.error(
      `unknown section(s) ${unknown.join(', ')}; known: ${sections.map((s) => s.name).join(', ')}`,
    );
    return 2;
  }
  const result: Record<string, unknown> = {};
  const failures: string[] = [];
  for (const section of chosen) {
    const part = await section.run(context);
    Object.assign(result, part);
    failures.push(...(section.gate?.(part) ?? []));
  }
  console.log(options.json ? JSON.stringify(result) : formatTable(result));
  for (const failure of failures) console.error(`target missed: ${failure}`);
  return options.gate && failures.length > 0 ? 1 : 0;
}
