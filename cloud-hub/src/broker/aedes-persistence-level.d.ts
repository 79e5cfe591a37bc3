declare module 'aedes-persistence-level' {
  /** aedes persistence (retained messages, subscriptions, offline queues) over a `level` database. */
  export default function aedesPersistenceLevel(db: unknown): unknown;
}
