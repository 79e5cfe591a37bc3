// HTTP plumbing shared by every API route: zod schemas as fastify validators (and as OpenAPI through the
// swagger transform), coded JSON errors with a status per code, and who may call what.
import { describeIssues, isTpError, type Logger, TpError } from '@truepresence/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../auth/auth.ts';
import { HubErrorCode, hubError } from '../errors.ts';
import type { Role } from '../store/index.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without logging in. */
    public?: boolean;
    /** Roles allowed; by default reads are open to every role and changes to admins only. */
    roles?: readonly Role[];
  }
  interface FastifyRequest {
    actor: Actor | null;
  }
}

/** HTTP status of each code that callers can cause; anything else is a 500. */
const statusOfCode: Record<string, number> = {
  [HubErrorCode.requestInvalid]: 400,
  [HubErrorCode.authRequired]: 401,
  [HubErrorCode.authLoginFailed]: 401,
  [HubErrorCode.authForbidden]: 403,
  [HubErrorCode.authCsrf]: 403,
  [HubErrorCode.notFound]: 404,
  [HubErrorCode.storeSiteUnknown]: 404,
  [HubErrorCode.storeDeviceUnknown]: 404,
  [HubErrorCode.storeAlertUnknown]: 404,
  [HubErrorCode.storePersonUnknown]: 404,
  [HubErrorCode.storeConsentUnknown]: 404,
  [HubErrorCode.storeTemplateUnknown]: 404,
  [HubErrorCode.storePhotoUnknown]: 404,
  [HubErrorCode.storeUserUnknown]: 404,
  [HubErrorCode.storeSiteExists]: 409,
  [HubErrorCode.storeDeviceExists]: 409,
  [HubErrorCode.storeUserExists]: 409,
  [HubErrorCode.storeExternalIdTaken]: 409,
  [HubErrorCode.storePersonErased]: 409,
  [HubErrorCode.storeDeviceRevoked]: 409,
  [HubErrorCode.requestTooLarge]: 413,
  [HubErrorCode.enrolImageTooLarge]: 413,
  [HubErrorCode.mediaTypeUnsupported]: 415,
  [HubErrorCode.storeTimeZoneInvalid]: 422,
  [HubErrorCode.storeDateInvalid]: 422,
  [HubErrorCode.storeConsentMissing]: 422,
  [HubErrorCode.storeDeviceSiteMismatch]: 422,
  [HubErrorCode.passwordHashInvalid]: 422,
  [HubErrorCode.siteKeyInvalid]: 422,
  [HubErrorCode.siteKeyMissing]: 422,
  [HubErrorCode.personNoSite]: 422,
  [HubErrorCode.enrolImageUnreadable]: 422,
  [HubErrorCode.enrolNoFace]: 422,
  [HubErrorCode.enrolSeveralFaces]: 422,
  [HubErrorCode.enrolFaceTooSmall]: 422,
  [HubErrorCode.enrolTooBlurred]: 422,
  [HubErrorCode.enrolTooDark]: 422,
  [HubErrorCode.enrolTooBright]: 422,
  [HubErrorCode.enrolPose]: 422,
  [HubErrorCode.enrolDuplicate]: 422,
  [HubErrorCode.enrolTooManyTemplates]: 422,
  TP_PROTO_KEY_INVALID: 422,
  [HubErrorCode.authRateLimited]: 429,
  [HubErrorCode.enrolUnavailable]: 503,
  [HubErrorCode.brokerNotConnected]: 503,
  [HubErrorCode.notReady]: 503,
};

/** fastify's own request errors, as hub codes. */
const fastifyCodes: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: HubErrorCode.requestTooLarge,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: HubErrorCode.mediaTypeUnsupported,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: HubErrorCode.requestInvalid,
  FST_ERR_CTP_EMPTY_JSON_BODY: HubErrorCode.requestInvalid,
  FST_ERR_CTP_INVALID_JSON_BODY: HubErrorCode.requestInvalid,
  FST_ERR_VALIDATION: HubErrorCode.requestInvalid,
};

export const errorSchema = z
  .strictObject({
    code: z.string().describe('Stable error code (TP_HUB_..., TP_PROTO_...).'),
    message: z.string().describe('What went wrong and what to do about it.'),
    details: z.record(z.string(), z.unknown()),
  })
  .describe('Error.');

function sendError(reply: FastifyReply, error: TpError): FastifyReply {
  return reply.code(statusOfCode[error.code] ?? 500).send(error.toJSON());
}

export function installErrorHandling(app: FastifyInstance, logger: Logger): void {
  app.setValidatorCompiler(({ schema, httpPart }) => (data: unknown) => {
    const result = (schema as z.ZodType).safeParse(data);
    if (result.success) return { value: result.data };
    const problems = describeIssues(result.error);
    return {
      error: hubError(
        HubErrorCode.requestInvalid,
        `invalid ${httpPart ?? 'request'}: ${problems.join('; ')}`,
        {
          part: httpPart ?? null,
          problems,
        },
      ),
    };
  });
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      hubError(HubErrorCode.notFound, `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
  app.setErrorHandler((error: FastifyError | TpError | Error, request, reply) => {
    if (isTpError(error)) {
      const status = statusOfCode[error.code] ?? 500;
      if (status < 500) return sendError(reply, error);
      request.log.error({ err: error }, 'request failed');
      return sendError(reply, error);
    }
    const mapped = 'code' in error && typeof error.code === 'string' ? fastifyCodes[error.code] : undefined;
    if (mapped) return sendError(reply, new TpError(mapped, error.message));
    logger.error({ err: error, url: request.url.split('?')[0], method: request.method }, 'unexpected error');
    return sendError(
      reply,
      hubError(HubErrorCode.internal, 'the hub failed to handle the request; see its log'),
    );
  });
}

/** Throws TP_HUB_AUTH_FORBIDDEN unless the actor may see `siteId`. */
export function assertSite(request: FastifyRequest, siteId: string): void {
  const scope = request.actor?.siteScope;
  if (scope && !scope.includes(siteId)) {
    throw hubError(HubErrorCode.authForbidden, `your account may not see site "${siteId}"`, { siteId });
  }
}

/** Whether the actor may see something that belongs to `siteIds` (anything, for an unscoped actor). */
export function seesAny(request: FastifyRequest, siteIds: readonly string[]): boolean {
  const scope = request.actor?.siteScope;
  return !scope || siteIds.some((s) => scope.includes(s));
}

export function actorName(request: FastifyRequest): string {
  return request.actor?.name ?? 'anonymous';
}

/** Zod schemas of a route, converted to JSON Schema for the OpenAPI document. */
export function toOpenApi(schema: unknown, io: 'input' | 'output'): unknown {
  if (!(schema instanceof z.ZodType)) return schema;
  return z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' });
}
