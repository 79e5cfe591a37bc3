// The roster part: site keys, roster changes and their publication, enrolment from photos, and sync.
import fp from 'fastify-plugin';
import { Enrolment } from '../enrolment/enrolment.ts';
import { FaceModels } from '../enrolment/face-models.ts';
import { RosterService } from '../roster/roster.ts';
import { SiteKeyring } from '../roster/site-keys.ts';
import { RosterSync } from '../roster/sync.ts';

declare module 'fastify' {
  interface FastifyInstance {
    keyring: SiteKeyring;
    roster: RosterService;
    faceModels: FaceModels;
    enrolment: Enrolment;
  }
}

export const rosterPlugin = fp(
  async (app) => {
    const logger = app.hubLogger.child({ component: 'roster' });
    const keyring = new SiteKeyring(app.cipher);
    const roster = new RosterService({
      store: app.store,
      broker: app.broker,
      keyring,
      hubKey: app.keys.signing,
      cipher: app.cipher,
      metrics: app.metrics,
      logger,
    });
    const faceModels = new FaceModels(app.hubConfig.enrolment, app.hubLogger.child({ component: 'models' }));
    const enrolment = new Enrolment({
      store: app.store,
      roster,
      models: faceModels,
      cipher: app.cipher,
      metrics: app.metrics,
      logger: app.hubLogger.child({ component: 'enrolment' }),
      config: app.hubConfig.enrolment,
    });
    app.decorate('keyring', keyring);
    app.decorate('roster', roster);
    app.decorate('faceModels', faceModels);
    app.decorate('enrolment', enrolment);
    app.addHook('onReady', () => faceModels.start());
    app.addHook('onClose', () => faceModels.stop());
  },
  { name: 'tp-roster', dependencies: ['tp-store', 'tp-broker'] },
);

export const syncPlugin = fp(
  async (app) => {
    const sync = new RosterSync({
      store: app.store,
      registry: app.devices,
      broker: app.broker,
      metrics: app.metrics,
      logger: app.hubLogger.child({ component: 'sync' }),
      batchLimit: app.hubConfig.roster.syncBatchLimit,
    });
    app.mqttRouter.on('syncRequest', (message, site, device) => sync.handle(message, site, device));
  },
  { name: 'tp-sync', dependencies: ['tp-store', 'tp-devices', 'tp-broker'] },
);
