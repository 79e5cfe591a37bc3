import type { UnsignedEnvelope } from '@truepresence/protocol';
import type { PersonMatch } from './fusion.ts';

/**
 * The decision for one track: the event envelope's fields that the pipeline knows. The outbox adds the
 * rest (id, site, device, seq, prev) and signs it.
 */
export type Decision = Omit<UnsignedEnvelope, 'v' | 'id' | 'site' | 'device' | 'seq' | 'prev'>;

/** Where decisions go: the durable outbox. When `accept` resolves, the decision is safely stored. */
export interface DecisionSink {
  accept(decision: Decision): Promise<void>;
}

/** The enrolled templates the pipeline matches against: the agent's vector cache. */
export interface Gallery {
  /** The `k` most similar enrolled persons to an L2-normalised query, best first, one entry per person. */
  searchPeople(query: Float32Array, k: number): readonly PersonMatch[] | Promise<readonly PersonMatch[]>;
  /** Roster sequence number the gallery reflects, recorded with every decision. */
  appliedRosterSeq(): number;
}
