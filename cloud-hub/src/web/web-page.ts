// The admin web page: serves the built single-page app (cloud-hub/web/dist) at / and keeps the live feed
// that GET /api/v1/live streams (registered with the API so that it shares its login and roles).
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { LiveFeed } from './live-feed.ts';
import { loadStaticFiles, type StaticFile } from './static-files.ts';

declare module 'fastify' {
  interface FastifyInstance {
    liveFeed: LiveFeed;
  }
}

export const defaultWebDir = join(import.meta.dirname, '..', '..', 'web', 'dist');

const securityHeaders = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export interface WebPageOptions {
  /** Folder of the built page; the default is cloud-hub/web/dist. */
  dir?: string;
  heartbeatMs?: number;
}

export const webPagePlugin = fp(
  async (app, options: WebPageOptions) => {
    const logger = app.hubLogger.child({ component: 'web' });
    const feed = new LiveFeed({
      source: app.ingestion,
      store: app.store,
      logger,
      ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    });
    app.decorate('liveFeed', feed);
    app.addHook('onReady', () => feed.start());
    // Open event streams would keep the server from closing.
    app.addHook('preClose', () => feed.stop());

    const dir = options.dir ?? defaultWebDir;
    const files = loadStaticFiles(dir);
    if (!files) {
      logger.warn({ dir }, 'the web page is not built: run "npm run build:web -w @truepresence/cloud-hub"');
      app.get('/', { schema: { hide: true } }, async (_request, reply) =>
        reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send(
            'The web page is not built. Run "npm run build:web -w @truepresence/cloud-hub" and restart the hub.\n',
          ),
      );
      return;
    }
    const serve = (file: StaticFile) => async (request: FastifyRequest, reply: FastifyReply) => {
      reply.headers({
        ...securityHeaders,
        etag: file.etag,
        'cache-control': file.cacheControl,
        vary: 'accept-encoding',
      });
      if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
      reply.type(file.type);
      if (file.gzip && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
        return reply.header('content-encoding', 'gzip').send(file.gzip);
      }
      return reply.send(file.body);
    };
    for (const [path, file] of files) {
      app.get(path, { schema: { hide: true } }, serve(file));
    }
    app.get('/', { schema: { hide: true } }, serve(files.get('/index.html')!));
  },
  { name: 'tp-web', dependencies: ['tp-store', 'tp-ingestion'] },
);

/** GET /live inside the API scope: the session or token has been checked and `request.actor` is set. */
export async function liveRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/live',
    {
      schema: {
        tags: ['live'],
        summary: 'Live feed (Server-Sent Events)',
        description:
          'text/event-stream: an "events" message with {"events": [...]} (the /events item shape) after each commit of newly stored events, limited to the sites of the account; a comment line every 20 s. Reload lists after every (re)connection.',
      },
    },
    async (request, reply) => {
      reply.hijack();
      app.liveFeed.attach(reply.raw, request.actor!);
    },
  );
}
