// The REST API under /api/v1 with its OpenAPI document (/api/v1/openapi.json). Every route is validated by
// zod, answers coded errors, and is reachable only by the roles its config names (reads: every role;
// changes: admins unless a route says otherwise). Session requests that change something need the CSRF token.
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import { alertRoutes } from '../api/alerts.ts';
import { attendanceRoutes } from '../api/attendance.ts';
import { authRoutes, sessionCookie } from '../api/auth.ts';
import { deviceRoutes } from '../api/devices.ts';
import { installErrorHandling, toOpenApi } from '../api/http.ts';
import { peopleRoutes } from '../api/people.ts';
import { siteRoutes } from '../api/sites.ts';
import type { Actor } from '../auth/auth.ts';
import { bearerToken } from '../auth/bearer.ts';
import { HubErrorCode, hubError } from '../errors.ts';
import type { Role } from '../store/index.ts';
import { liveRoutes } from '../web/web-page.ts';

const everyone: readonly Role[] = ['admin', 'manager', 'viewer'];
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return undefined;
}

async function authenticate(app: FastifyInstance, request: FastifyRequest): Promise<Actor> {
  const bearer = bearerToken(request.headers.authorization);
  if (bearer !== undefined) {
    const actor = app.auth.tokenActor(bearer);
    if (!actor) throw hubError(HubErrorCode.authRequired, 'the API token is not valid');
    return actor;
  }
  const token = cookieValue(request.headers.cookie, sessionCookie);
  const actor = token ? await app.auth.sessionActor(token) : undefined;
  if (!actor)
    throw hubError(HubErrorCode.authRequired, 'log in first (POST /api/v1/auth/login) or send the API token');
  if (
    !safeMethods.has(request.method) &&
    !app.auth.csrfMatches(actor.session!, request.headers['x-csrf-token'] as string | undefined)
  ) {
    throw hubError(HubErrorCode.authCsrf, 'send the CSRF token returned at login as the X-CSRF-Token header');
  }
  return actor;
}

function transformSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...schema };
  for (const part of ['params', 'querystring', 'body', 'headers']) {
    if (schema[part]) out[part] = toOpenApi(schema[part], 'input');
  }
  if (schema.response) {
    out.response = Object.fromEntries(
      Object.entries(schema.response as Record<string, unknown>).map(([status, s]) => [
        status,
        toOpenApi(s, 'output'),
      ]),
    );
  }
  return out;
}

export const apiPlugin = fp(
  async (app) => {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'TruePresence hub API',
          version: '1',
          description:
            'Log in with POST /api/v1/auth/login (session cookie + X-CSRF-Token) or send "Authorization: Bearer <admin API token>". Errors are {"code", "message", "details"}. Outside /api/v1: GET /healthz and GET /readyz (public), GET /metrics (Prometheus; the metrics token of config metrics.token, or a client on the hub\'s machine unless metrics.loopback is off).',
        },
        components: {
          securitySchemes: {
            token: { type: 'http', scheme: 'bearer' },
            session: { type: 'apiKey', in: 'cookie', name: sessionCookie },
          },
        },
        security: [{ token: [] }, { session: [] }],
      },
      transform: ({ schema, url }) => ({
        schema: schema && (transformSchema(schema as Record<string, unknown>) as never),
        url,
      }),
    });
    installErrorHandling(app, app.hubLogger.child({ component: 'api' }));
    await app.register(
      async (api) => {
        api.addHook('onRequest', async (request) => {
          const config = request.routeOptions.config;
          if (config.public) return;
          const actor = await authenticate(app, request);
          request.actor = actor;
          const roles = config.roles ?? (safeMethods.has(request.method) ? everyone : ['admin']);
          if (!roles.includes(actor.role)) {
            throw hubError(
              HubErrorCode.authForbidden,
              `a ${actor.role} may not ${request.method} ${request.url.split('?')[0]}`,
              {
                role: actor.role,
              },
            );
          }
        });
        api.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () =>
          app.swagger(),
        );
        api.get(
          '/hub-key',
          {
            config: { public: true },
            schema: {
              tags: ['hub'],
              summary: 'The key agents verify roster changes with',
              response: {
                200: z.strictObject({
                  keyId: z.string().describe('Hub signing key id (config keys.hubKeyId).'),
                  publicKey: z.string().describe('Ed25519 public key, 32 bytes in base64url.'),
                }),
              },
            },
          },
          async () => ({ keyId: app.keys.signing.id, publicKey: app.keys.signingPublicKey }),
        );
        await api.register(authRoutes);
        await api.register(siteRoutes);
        await api.register(deviceRoutes);
        await api.register(peopleRoutes);
        await api.register(attendanceRoutes);
        await api.register(alertRoutes);
        await api.register(liveRoutes);
      },
      { prefix: '/api/v1' },
    );
  },
  { name: 'tp-api', dependencies: ['tp-auth', 'tp-roster', 'tp-devices', 'tp-broker', 'tp-web'] },
);
