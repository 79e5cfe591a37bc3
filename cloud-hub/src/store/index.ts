export * from './config.ts';
export * from './hub-store.ts';
export type { StoreOptions } from './kysely-store.ts';
export { openStore } from './open-store.ts';
