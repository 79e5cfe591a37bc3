import { z } from 'zod';
import { ProtocolErrorCode, protocolError } from './errors.ts';

export const TOPIC_PREFIX = 'tp/v1';

/** Site, device and camera ids: safe in MQTT topics, file names and URLs. */
export const idSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'use 1-63 characters: lower-case letters, digits, "-" or "_", starting with a letter or digit',
  )
  .describe('Identifier: 1-63 chars of [a-z0-9_-], starting with a letter or digit.');

export type DeviceTopicKind = 'events' | 'acks' | 'status' | 'syncRequest' | 'syncResponse';

export type ParsedTopic =
  | { kind: DeviceTopicKind; site: string; device: string }
  | { kind: 'roster'; site: string; device?: undefined };

const deviceSuffixes: Record<DeviceTopicKind, string> = {
  events: 'events',
  acks: 'acks',
  status: 'status',
  syncRequest: 'sync/req',
  syncResponse: 'sync',
};

function checkId(value: string, what: string): string {
  if (!idSchema.safeParse(value).success) {
    throw protocolError(ProtocolErrorCode.topicInvalid, `${what} id "${value}" is not a valid id`, {
      [what]: value,
    });
  }
  return value;
}

export function deviceTopic(kind: DeviceTopicKind, site: string, device: string): string {
  return `${TOPIC_PREFIX}/${checkId(site, 'site')}/${checkId(device, 'device')}/${deviceSuffixes[kind]}`;
}

export const topics = {
  events: (site: string, device: string) => deviceTopic('events', site, device),
  acks: (site: string, device: string) => deviceTopic('acks', site, device),
  status: (site: string, device: string) => deviceTopic('status', site, device),
  syncRequest: (site: string, device: string) => deviceTopic('syncRequest', site, device),
  syncResponse: (site: string, device: string) => deviceTopic('syncResponse', site, device),
  roster: (site: string) => `${TOPIC_PREFIX}/${checkId(site, 'site')}/roster`,
};

/**
 * Subscription filters for the hub. With an external broker the hub subscribes through MQTT 5 shared
 * subscriptions so that replicas split the load; aedes has none, so the embedded broker uses plain filters.
 */
export function hubSubscriptions(shareGroup?: string): {
  events: string;
  status: string;
  syncRequest: string;
} {
  const share = (filter: string) => (shareGroup ? `$share/${shareGroup}/${filter}` : filter);
  return {
    events: share(`${TOPIC_PREFIX}/+/+/events`),
    // Retained status must reach every replica, so it is never shared.
    status: `${TOPIC_PREFIX}/+/+/status`,
    syncRequest: share(`${TOPIC_PREFIX}/+/+/sync/req`),
  };
}

/** Parses a concrete topic (no wildcards) into its kind, site and device, or throws TP_PROTO_TOPIC_INVALID. */
export function parseTopic(topic: string): ParsedTopic {
  const fail = (why: string) =>
    protocolError(ProtocolErrorCode.topicInvalid, `topic "${topic.slice(0, 200)}" ${why}`, {
      topic: topic.slice(0, 200),
    });
  if (!topic.startsWith(`${TOPIC_PREFIX}/`)) throw fail(`does not start with ${TOPIC_PREFIX}/`);
  const parts = topic.slice(TOPIC_PREFIX.length + 1).split('/');
  const [site, second, third, fourth] = parts;
  if (site === undefined || !idSchema.safeParse(site).success) throw fail('has no valid site id');
  if (parts.length === 2 && second === 'roster') return { kind: 'roster', site };
  if (second === undefined || !idSchema.safeParse(second).success) throw fail('has no valid device id');
  const suffix = parts.slice(2).join('/');
  const kind = (Object.keys(deviceSuffixes) as DeviceTopicKind[]).find((k) => deviceSuffixes[k] === suffix);
  if (!kind || third === undefined || (fourth !== undefined && suffix !== 'sync/req')) {
    throw fail('has an unknown kind; expected events, acks, status, sync/req, sync or roster');
  }
  return { kind, site, device: second };
}
