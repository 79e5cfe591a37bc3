// Login, logout and the current user; user administration (admins only).
import { idSchema } from '@truepresence/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HubErrorCode, hubError } from '../errors.ts';
import { hashPassword } from '../passwords.ts';
import { actorName, errorSchema } from './http.ts';
import { roleSchema, toUser, userView } from './views.ts';

export const sessionCookie = 'tp_session';

const password = z.string().min(12, 'use at least 12 characters').max(200);
const meView = z.strictObject({
  username: z.string(),
  role: roleSchema,
  siteScope: z.array(idSchema).nullable(),
  csrfToken: z
    .string()
    .optional()
    .describe('Send it as X-CSRF-Token with every request that changes something.'),
});

export async function authRoutes(app: FastifyInstance): Promise<void> {
  const secure = app.hubConfig.auth.secureCookies ? '; Secure' : '';
  const cookie = (value: string, maxAgeSeconds: number) =>
    `${sessionCookie}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;

  const loginBody = z.strictObject({
    username: z.string().min(1).max(100),
    password: z.string().min(1).max(200),
  });
  app.post(
    '/auth/login',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Log in; sets the session cookie and returns the CSRF token',
        body: loginBody,
        response: { 200: meView, 401: errorSchema, 429: errorSchema },
      },
    },
    async (request, reply) => {
      const body = request.body as z.output<typeof loginBody>;
      const { token, csrfToken, user } = await app.auth.login(body.username, body.password, request.ip);
      reply.header('set-cookie', cookie(token, Math.round(app.auth.sessionMs / 1000)));
      await app.store.appendAudit({ actor: user.username, action: 'user.login', target: user.username });
      return { username: user.username, role: user.role, siteScope: user.siteScope, csrfToken };
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { roles: ['admin', 'manager', 'viewer'] },
      schema: { tags: ['auth'], summary: 'Log out', response: { 204: z.null() } },
    },
    async (request, reply) => {
      if (request.actor?.session) await app.auth.logout(request.actor.session);
      reply.header('set-cookie', cookie('', 0));
      return reply.code(204).send();
    },
  );

  app.get(
    '/auth/me',
    { schema: { tags: ['auth'], summary: 'Who is logged in', response: { 200: meView, 401: errorSchema } } },
    async (request) => {
      const actor = request.actor!;
      return { username: actor.name, role: actor.role, siteScope: actor.siteScope };
    },
  );

  app.get(
    '/users',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['users'],
        summary: 'Users',
        response: { 200: z.strictObject({ users: z.array(userView) }) },
      },
    },
    async () => ({ users: (await app.store.listUsers()).map(toUser) }),
  );

  const newUser = z.strictObject({
    username: z.string().regex(/^[A-Za-z0-9_.@-]{1,100}$/),
    password,
    role: roleSchema,
    siteScope: z.array(idSchema).nullable().default(null),
  });
  app.post(
    '/users',
    {
      schema: {
        tags: ['users'],
        summary: 'Add a user',
        body: newUser,
        response: { 201: userView, 409: errorSchema },
      },
    },
    async (request, reply) => {
      const body = request.body as z.output<typeof newUser>;
      const passwordHash = await hashPassword(body.password);
      const user = await app.store.transaction(async (repo) => {
        const user = await repo.createUser({
          username: body.username,
          passwordHash,
          role: body.role,
          siteScope: body.siteScope,
        });
        await repo.appendAudit({
          actor: actorName(request),
          action: 'user.create',
          target: user.username,
          details: { role: user.role, siteScope: user.siteScope },
        });
        return user;
      });
      reply.code(201);
      return toUser(user);
    },
  );

  const userParams = z.strictObject({ username: z.string().min(1).max(100) });
  const userPatch = z.strictObject({
    password: password.optional(),
    role: roleSchema.optional(),
    siteScope: z.array(idSchema).nullable().optional(),
  });
  app.patch(
    '/users/:username',
    {
      schema: {
        tags: ['users'],
        summary: "Change a user's password, role or sites",
        params: userParams,
        body: userPatch,
        response: { 200: userView, 404: errorSchema },
      },
    },
    async (request) => {
      const { username } = request.params as z.output<typeof userParams>;
      const patch = request.body as z.output<typeof userPatch>;
      const passwordHash = patch.password === undefined ? undefined : await hashPassword(patch.password);
      const user = await app.store.transaction(async (repo) => {
        const user = await repo.updateUser(username, {
          ...(passwordHash ? { passwordHash } : {}),
          ...(patch.role ? { role: patch.role } : {}),
          ...(patch.siteScope === undefined ? {} : { siteScope: patch.siteScope }),
        });
        await repo.appendAudit({
          actor: actorName(request),
          action: 'user.update',
          target: username,
          details: {
            passwordChanged: passwordHash !== undefined,
            role: patch.role ?? null,
            siteScope: patch.siteScope ?? null,
          },
        });
        return user;
      });
      return toUser(user);
    },
  );

  app.delete(
    '/users/:username',
    {
      schema: {
        tags: ['users'],
        summary: 'Remove a user and end their sessions',
        params: userParams,
        response: { 204: z.null(), 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { username } = request.params as z.output<typeof userParams>;
      if (username === request.actor?.name)
        throw hubError(HubErrorCode.requestInvalid, 'you cannot remove your own account');
      await app.store.transaction(async (repo) => {
        await repo.deleteUser(username);
        await repo.appendAudit({ actor: actorName(request), action: 'user.delete', target: username });
      });
      return reply.code(204).send();
    },
  );
}
