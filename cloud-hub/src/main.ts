// The hub program: `tsx cloud-hub/src/main.ts [--config FILE] [--check-config] [--config-schema]`. Without a
// config file it runs on embedded defaults (SQLite and its own broker under ./var/hub, HTTP on 127.0.0.1:8080).
import {
  configJsonSchema,
  createLogger,
  isTpError,
  parseConfig,
  parseProgramArgs,
  readConfigFile,
} from '@truepresence/protocol';
import { type HubConfig, hubConfigSchema } from './config.ts';
import { buildHub } from './hub.ts';

const args = parseProgramArgs(process.argv.slice(2));
if (args.printSchema) {
  process.stdout.write(configJsonSchema(hubConfigSchema));
  process.exit(0);
}
let config: HubConfig;
try {
  config = parseConfig(
    hubConfigSchema,
    args.configPath ? readConfigFile(args.configPath) : {},
    args.configPath ?? 'embedded defaults',
  );
} catch (error) {
  console.error(isTpError(error) ? `${error.code}: ${error.message}` : error);
  process.exit(2);
}
if (args.checkConfig) {
  console.log(`config ${args.configPath ?? '(embedded defaults)'} is valid`);
  process.exit(0);
}

const logger = createLogger({ level: config.log.level, name: 'hub' });
const app = await buildHub(config, {
  logger,
  secrets: { credentialsDirectory: process.env.CREDENTIALS_DIRECTORY },
  onFirstAdminPassword: (password) => {
    // Printed once on the terminal, never logged.
    process.stdout.write(
      `\nFirst start: log in as "admin" with password ${password}\n(shown once; change it after logging in)\n\n`,
    );
  },
});

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  await app.close();
  process.exit(0);
}
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));

try {
  const address = await app.listen({ host: config.http.host, port: config.http.port });
  logger.info({ address, broker: app.broker.address() ?? config.broker.type }, 'hub ready');
} catch (error) {
  logger.fatal(
    { err: error, code: isTpError(error) ? error.code : undefined },
    `hub could not start: ${(error as Error).message}`,
  );
  await app.close().catch(() => undefined);
  process.exit(1);
}
