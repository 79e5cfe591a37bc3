// `npm start`: the one-command demo (see demo.ts). Options: --data DIR (default var/demo), --http-port N
// (default 8080), --mqtt-port N (default 1884). Ctrl-C stops the agent, then the hub, and exits 0.
import { createLogger, isTpError } from '@truepresence/protocol';
import { Demo } from './demo.ts';

function option(name: string, fallback: string): string {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
}

const print = (line: string) => process.stdout.write(`[demo] ${line}\n`);
const demo = new Demo({
  dataDir: option('--data', 'var/demo'),
  httpPort: Number(option('--http-port', '8080')),
  mqttPort: Number(option('--mqtt-port', '1884')),
  print,
  logger: createLogger({ name: 'demo', level: 'warn' }),
});
process.once('exit', () => demo.kill());

let exitCode = 0;
const stop = async () => {
  await demo.stop();
  print('stopped');
  process.exit(exitCode);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
void demo.childExited.then((name) => {
  print(`the ${name} exited unexpectedly; stopping`);
  exitCode = 1;
  void stop();
});

try {
  await demo.start();
} catch (error) {
  print(`could not start: ${isTpError(error) ? `${error.code}: ` : ''}${(error as Error).message}`);
  exitCode = 1;
  await stop();
}
