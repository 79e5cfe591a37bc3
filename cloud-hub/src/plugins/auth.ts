// The auth part: the admin API token, users and sessions; creates the first admin on an empty hub.
import fp from 'fastify-plugin';
import { AuthService } from '../auth/auth.ts';

declare module 'fastify' {
  interface FastifyInstance {
    auth: AuthService;
  }
}

export const authPlugin = fp(
  async (app, options: { onFirstAdminPassword?: ((password: string) => void) | undefined }) => {
    const auth = new AuthService(
      app.store,
      app.keys.adminToken,
      app.hubConfig.auth,
      app.secrets,
      app.hubLogger.child({ component: 'auth' }),
    );
    app.decorate('auth', auth);
    app.decorateRequest('actor', null);
    app.addHook('onReady', async () => {
      const password = await auth.ensureInitialAdmin();
      if (password) options.onFirstAdminPassword?.(password);
    });
  },
  { name: 'tp-auth', dependencies: ['tp-store'] },
);
