export type { BrokerMessage, HubBroker } from './broker/broker.ts';
export { type HubConfig, hubConfigSchema } from './config.ts';
export { HubErrorCode } from './errors.ts';
export { buildHub, type HubDeps } from './hub.ts';
export { hashPassword, verifyPassword } from './passwords.ts';
