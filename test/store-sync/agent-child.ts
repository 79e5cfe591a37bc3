// The crash-test agent: opens the store, connects, appends `count` decisions as fast as it can (printing
// `accepted <id>` once each is committed), then waits until the hub has acknowledged everything and exits.
// Usage: tsx test/store-sync/agent-child.ts '{"setup": AgentSetup, "count": N, "create": bool}', then a line
// on stdin to begin.
import { createLogger } from '@truepresence/protocol';
import { type AgentSetup, decision, openAgent } from './agent.ts';

const { setup, count, create } = JSON.parse(process.argv[2] ?? '{}') as {
  setup: AgentSetup;
  count: number;
  create: boolean;
};
const out = (line: string) => process.stdout.write(`${line}\n`);
const logger = createLogger(
  { level: 'warn', name: 'agent-child' },
  { write: (line) => process.stderr.write(line) },
);

// The parent starts this process ahead of time; it opens the store only on the go-ahead line.
await new Promise((resolve) => process.stdin.once('data', resolve));
const agent = openAgent(setup, create, logger);
const { outbox, link } = agent;
link.publisher.on('acked', (n) => out(`acked ${n}`));
link.start();
out('ready');
for (let i = 0; i < count; i++) {
  out(`accepted ${outbox.append(decision(i)).id}`);
  await new Promise((resolve) => setImmediate(resolve));
}
while (outbox.stats().pending > 0) await new Promise((resolve) => link.publisher.once('acked', resolve));
out('drained');
await agent.close();
