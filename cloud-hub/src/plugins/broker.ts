// The broker part: the configured broker (embedded or external) and the routing of what arrives on the
// hub's subscriptions to the part that handles each topic kind. Registered before the parts that handle
// messages, it stops after them, so that their last acks still go out.
import { type DeviceTopicKind, isTpError, parseTopic } from '@truepresence/protocol';
import fp from 'fastify-plugin';
import type { BrokerMessage, HubBroker } from '../broker/broker.ts';
import { EmbeddedBroker } from '../broker/embedded.ts';
import { ExternalBroker } from '../broker/external.ts';

export type TopicHandler = (message: BrokerMessage, site: string, device: string) => void;

/** Which part takes which topic kind; a message on any other topic is counted and dropped. */
export class MessageRouter {
  readonly #handlers = new Map<DeviceTopicKind, TopicHandler>();
  readonly #onInvalid: (topic: string, code: string) => void;

  constructor(onInvalid: (topic: string, code: string) => void) {
    this.#onInvalid = onInvalid;
  }

  on(kind: 'events' | 'status' | 'syncRequest', handler: TopicHandler): void {
    this.#handlers.set(kind, handler);
  }

  dispatch(message: BrokerMessage): void {
    try {
      const topic = parseTopic(message.topic);
      const handler = topic.kind === 'roster' ? undefined : this.#handlers.get(topic.kind);
      if (!handler || topic.device === undefined) {
        this.#onInvalid(topic.kind, 'unrouted');
        return;
      }
      handler(message, topic.site, topic.device);
    } catch (error) {
      this.#onInvalid('invalid', isTpError(error) ? error.code : 'internal');
    }
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    broker: HubBroker;
    mqttRouter: MessageRouter;
  }
}

export const brokerPlugin = fp(
  async (app) => {
    const config = app.hubConfig.broker;
    const logger = app.hubLogger.child({ component: 'broker' });
    const broker: HubBroker =
      config.type === 'embedded'
        ? new EmbeddedBroker(config, app.hubConfig.dataDir, app.devices, logger)
        : new ExternalBroker(config, app.secrets, logger);
    const router = new MessageRouter((topic, code) => app.metrics.messagesInvalid.inc({ topic, code }));
    broker.onMessage((message) => router.dispatch(message));
    app.devices.onRevoke((device) => broker.disconnectDevice(device.id));
    app.decorate('broker', broker);
    app.decorate('mqttRouter', router);
    app.addHook('onReady', () => broker.start());
    app.addHook('onClose', () => broker.stop());
  },
  { name: 'tp-broker', dependencies: ['tp-devices'] },
);
