// The simulated agents of the hub bench, on their own thread so that the load they make does not run on the
// hub's main thread: each connects over MQTT 3.1.1, signs its envelopes beforehand, publishes on command
// (a flood, or a steady rate) and reports when the hub's acks arrive.
import type { Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import {
  type Ack,
  type ChainHead,
  chainStart,
  nextEnvelope,
  privateKeyFromPem,
  topics,
  uuidv7,
} from '@truepresence/protocol';
import mqtt, { type MqttClient } from 'mqtt';

export interface AgentSpec {
  site: string;
  device: string;
  username: string;
  password: string;
  privateKeyPem: string;
}

export interface AgentsData {
  url: string;
  specs: AgentSpec[];
  /** Events of the flood, over all agents. */
  flood: number;
  steady: { rate: number; seconds: number };
}

export type AgentCommand = 'flood' | 'steady' | 'close';

export interface AgentReport {
  elapsedMs: number;
  latenciesMs: number[];
  rejected: string[];
}

class Agent {
  readonly sentAt = new Map<string, number>();
  readonly latencies: number[] = [];
  readonly rejected: string[] = [];
  #head: ChainHead = chainStart;
  #drained: (() => void) | undefined;

  constructor(
    readonly spec: AgentSpec,
    readonly client: MqttClient,
  ) {
    client.on('message', (_topic, payload) => {
      const ack = JSON.parse(payload.toString()) as Ack;
      const now = performance.now();
      for (const id of ack.ids) {
        const sent = this.sentAt.get(id);
        if (sent !== undefined) this.latencies.push(now - sent);
        this.sentAt.delete(id);
      }
      for (const { id, code } of ack.rejected) {
        this.sentAt.delete(id);
        this.rejected.push(code);
      }
      if (this.sentAt.size === 0) this.#drained?.();
    });
  }

  sign(count: number): Array<{ id: string; payload: string }> {
    const privateKey = privateKeyFromPem(this.spec.privateKeyPem);
    const capturedAt = new Date().toISOString();
    return Array.from({ length: count }, (_, i) => {
      const { envelope, head } = nextEnvelope(
        this.#head,
        {
          id: uuidv7(),
          site: this.spec.site,
          device: this.spec.device,
          camera: `door-${i % 3}`,
          kind: 'attendance',
          personId: `person-${i % 400}`,
          direction: i % 2 ? 'out' : 'in',
          capturedAt,
          similarity: 0.72,
          margin: 0.21,
          liveness: 0.98,
          quality: 0.8,
          rosterSeq: 1,
          modelPack: 'faceplugin-default@1.0.0',
        },
        privateKey,
      );
      this.#head = head;
      return { id: envelope.id, payload: JSON.stringify(envelope) };
    });
  }

  publish(event: { id: string; payload: string }): void {
    this.sentAt.set(event.id, performance.now());
    this.client.publish(topics.events(this.spec.site, this.spec.device), event.payload, { qos: 1 });
  }

  drained(): Promise<void> {
    if (this.sentAt.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drained = resolve;
    });
  }
}

const { url, specs, flood, steady } = workerData as AgentsData;
const agents = await Promise.all(
  specs.map(async (spec) => {
    const client = await mqtt.connectAsync(url, {
      protocolVersion: 4,
      clientId: spec.device,
      username: spec.username,
      password: spec.password,
      reconnectPeriod: 0,
    });
    // As an agent should: events leave at once instead of waiting for Nagle's algorithm.
    (client.stream as Partial<Socket>).setNoDelay?.(true);
    await client.subscribeAsync(topics.acks(spec.site, spec.device), { qos: 1 });
    return new Agent(spec, client);
  }),
);

// Signed before any timing starts: signing is the agents' work, not the hub's.
const signed = {
  flood: agents.map((agent) => agent.sign(Math.ceil(flood / agents.length))),
  steady: agents.map((agent) => agent.sign(Math.ceil((steady.rate * steady.seconds) / agents.length))),
};

async function run(command: 'flood' | 'steady'): Promise<AgentReport> {
  const events = signed[command];
  for (const agent of agents) {
    agent.latencies.length = 0;
    agent.rejected.length = 0;
  }
  const started = performance.now();
  if (command === 'flood') {
    agents.forEach((agent, i) => {
      for (const event of events[i]!) agent.publish(event);
    });
  } else {
    const total = events.reduce((n, list) => n + list.length, 0);
    for (let sent = 0; sent < total; ) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * steady.rate) + 1);
      for (; sent < due; sent++) {
        agents[sent % agents.length]!.publish(
          events[sent % agents.length]![Math.floor(sent / agents.length)]!,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  await Promise.all(agents.map((agent) => agent.drained()));
  return {
    elapsedMs: performance.now() - started,
    latenciesMs: agents.flatMap((agent) => agent.latencies),
    rejected: agents.flatMap((agent) => agent.rejected),
  };
}

parentPort?.on('message', (command: AgentCommand) => {
  if (command === 'close') {
    void Promise.all(agents.map((agent) => agent.client.endAsync())).then(() => parentPort?.close());
    return;
  }
  void run(command).then((report) => parentPort?.postMessage(report));
});
parentPort?.postMessage('ready');
