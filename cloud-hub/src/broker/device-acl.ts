// What a logged-in device may do on the embedded broker (design.md, MQTT contract): publish only under its
// own tp/v1/{site}/{device}/(events|status|sync/req), retain only its status, and subscribe only to its
// site's roster and its own acks and sync answers. No wildcards.
import { topics } from '@truepresence/protocol';
import type { DeviceLogin } from './broker.ts';

export function mayPublish(login: DeviceLogin, topic: string, retain: boolean): boolean {
  const { siteId, deviceId } = login;
  if (topic === topics.status(siteId, deviceId)) return true;
  if (retain) return false;
  return topic === topics.events(siteId, deviceId) || topic === topics.syncRequest(siteId, deviceId);
}

export function maySubscribe(login: DeviceLogin, filter: string): boolean {
  const { siteId, deviceId } = login;
  return (
    filter === topics.roster(siteId) ||
    filter === topics.acks(siteId, deviceId) ||
    filter === topics.syncResponse(siteId, deviceId)
  );
}
