// The devices part: the registry (keys, broker logins, status), the alert throttle, the sync lag check, and
// the status topic.
import fp from 'fastify-plugin';
import { AlertThrottle } from '../devices/alert-throttle.ts';
import { DeviceRegistry } from '../devices/registry.ts';
import { StatusHandler } from '../devices/status.ts';
import { SyncLagMonitor } from '../devices/sync-lag.ts';

declare module 'fastify' {
  interface FastifyInstance {
    devices: DeviceRegistry;
    deviceAlerts: AlertThrottle;
  }
}

export const devicesPlugin = fp(
  async (app) => {
    const logger = app.hubLogger.child({ component: 'devices' });
    const registry = new DeviceRegistry(app.store, app.hubConfig.devices, logger);
    const alerts = new AlertThrottle(app.store, logger);
    app.decorate('devices', registry);
    app.decorate('deviceAlerts', alerts);
    const { syncLagSeconds, maxBacklog } = app.hubConfig.devices;
    const syncLag = new SyncLagMonitor(
      app.store,
      alerts,
      { lagMs: syncLagSeconds * 1000, maxBacklog },
      app.hubLogger.child({ component: 'sync-lag' }),
    );
    app.addHook('onReady', async () => syncLag.start());
    app.addHook('onClose', () => syncLag.stop());
    app.metrics.addGauge({
      name: 'tp_hub_devices_online',
      help: 'Active devices whose last status says online.',
      read: async () =>
        (await app.store.listDevices()).filter((d) => d.status === 'active' && d.lastStatus?.online).length,
    });
  },
  { name: 'tp-devices', dependencies: ['tp-store'] },
);

/** Status messages go to the registry once the broker's router exists. */
export const statusPlugin = fp(
  async (app) => {
    const handler = new StatusHandler(
      app.devices,
      app.deviceAlerts,
      app.metrics,
      app.hubLogger.child({ component: 'status' }),
    );
    app.mqttRouter.on('status', (message, site, device) => handler.handle(message, site, device));
  },
  { name: 'tp-status', dependencies: ['tp-devices', 'tp-broker'] },
);
