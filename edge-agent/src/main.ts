// The agent program: `truepresence-agent [run] --config FILE`, `truepresence-agent --check-config --config
// FILE`, `truepresence-agent reset-cache --config FILE`, `truepresence-agent check-camera URL|FILE [...]`. Reads its environment here and nowhere else
// (CREDENTIALS_DIRECTORY for secrets, NOTIFY_SOCKET and WATCHDOG_USEC from systemd).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultManifestPath, loadModelPack } from '@truepresence/model-pack';
import {
  configJsonSchema,
  createLogger,
  isTpError,
  parseConfig,
  parseProgramArgs,
  probeDevice,
  readConfigFile,
  resolveDeviceProfile,
} from '@truepresence/protocol';
import { Agent } from './agent.ts';
import { resetVectorCache } from './cache/reset-cache.ts';
import { type AgentConfig, agentConfigSchema } from './config.ts';
import { AgentErrorCode } from './errors.ts';
import { runCheckCamera } from './installer/check-camera.ts';
import { SdNotifier } from './sd-notify.ts';

const usage = `usage: truepresence-agent [run] --config FILE      run the agent
       truepresence-agent --check-config --config FILE  validate the config and exit
       truepresence-agent --config-schema               print the config's JSON Schema (every key explained)
       truepresence-agent reset-cache --config FILE     empty the vector cache (agent stopped); it refills from the hub
       truepresence-agent check-camera URL|FILE [...]   check that faces at an entrance are usable`;

const secrets = { credentialsDirectory: process.env.CREDENTIALS_DIRECTORY };
const agentVersion = (
  JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;

function fail(code: string, message: string, status: number): never {
  process.stderr.write(`${code}: ${message}\n`);
  process.exit(status);
}

async function checkCamera(argv: readonly string[]): Promise<number> {
  const logger = createLogger({ name: 'check-camera', level: 'warn' });
  const { profile } = resolveDeviceProfile('auto', () => probeDevice());
  const pack = await loadModelPack(defaultManifestPath, {
    providers: profile.inference.providers,
    intraOpThreads: profile.inference.intraOpThreads,
    logger,
  });
  try {
    return await runCheckCamera(argv, { pack, logger, ffmpegPath: '/usr/bin/ffmpeg', secrets }, (text) =>
      process.stdout.write(`${text}\n`),
    );
  } finally {
    await pack.stop();
  }
}

async function run(config: AgentConfig): Promise<void> {
  const logger = createLogger({ name: 'agent', level: config.log.level });
  const notifier = new SdNotifier(
    { socket: process.env.NOTIFY_SOCKET, watchdogUsec: process.env.WATCHDOG_USEC },
    logger,
  );
  const agent = new Agent(config, { logger, secrets, notifier, agentVersion });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without draining');
      process.exit(130);
    }
    logger.info({ signal }, 'stopping: draining the pipeline and flushing the outbox');
    stopping = true;
    void agent.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    await agent.start();
  } catch (error) {
    const code = isTpError(error) ? error.code : AgentErrorCode.agentStartFailed;
    fail(code, `agent could not start: ${error instanceof Error ? error.message : String(error)}`, 1);
  }
}

async function resetCache(config: AgentConfig): Promise<void> {
  const logger = createLogger({ name: 'reset-cache', level: 'warn' });
  try {
    const { path, modelPack } = await resetVectorCache(config, { secrets, logger });
    process.stdout.write(
      `vector cache ${path} is empty (model pack ${modelPack}); the agent refills it from the hub's roster when it next connects\n`,
    );
  } catch (error) {
    if (!isTpError(error)) throw error;
    fail(error.code, `vector cache not reset: ${error.message}`, 1);
  }
}

const argv = process.argv.slice(2);
if (argv[0] === 'check-camera') {
  process.exitCode = await checkCamera(argv.slice(1));
} else {
  const command = argv[0] === 'run' || argv[0] === 'reset-cache' ? argv[0] : 'run';
  const args = parseProgramArgs(argv[0] === command ? argv.slice(1) : argv);
  if (args.printSchema) {
    process.stdout.write(configJsonSchema(agentConfigSchema));
    process.exit(0);
  }
  if (args.rest.length > 0) fail(AgentErrorCode.agentUsage, `unexpected ${args.rest.join(' ')}\n${usage}`, 2);
  if (!args.configPath) fail(AgentErrorCode.agentUsage, `--config FILE is required\n${usage}`, 2);
  let config: AgentConfig;
  try {
    config = parseConfig(agentConfigSchema, readConfigFile(args.configPath), args.configPath);
  } catch (error) {
    if (!isTpError(error)) throw error;
    fail(error.code, error.message, 2);
  }
  if (args.checkConfig) process.stdout.write(`config ${args.configPath} is valid\n`);
  else if (command === 'reset-cache') await resetCache(config);
  else await run(config);
}
