// Admin authentication: an API token for provisioning and scripts (Bearer, role admin), and users with
// scrypt password hashes who log in to sessions kept in the store (HttpOnly cookie + CSRF token for every
// state-changing request). Failed logins are limited per user name and per client address.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Logger, readSecret, type SecretEnvironment } from '@truepresence/protocol';
import type { HubConfig } from '../config.ts';
import { HubErrorCode, hubError } from '../errors.ts';
import { hashPassword, verifyPassword } from '../passwords.ts';
import type { HubStore, Role, Session, User } from '../store/index.ts';
import { tokenMatcher } from './bearer.ts';

export interface Actor {
  /** Audit name: the user name, or "api-token". */
  name: string;
  role: Role;
  /** Sites the actor may see; null for all. */
  siteScope: string[] | null;
  via: 'token' | 'session';
  session?: Session;
}

const tokenActorName = 'api-token';
const windowMs = 60_000;
/** Several people may log in from one address (an office behind NAT). */
const addressAllowance = 10;
/** A scrypt check of a user that does not exist costs as much as one that does. */
const decoyHash = '$scrypt$ln=15,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class AuthService {
  readonly #store: HubStore;
  readonly #isAdminToken: (candidate: string) => boolean;
  readonly #config: HubConfig['auth'];
  readonly #secrets: SecretEnvironment;
  readonly #logger: Logger;
  readonly #failures = new Map<string, number[]>();

  constructor(
    store: HubStore,
    adminToken: string,
    config: HubConfig['auth'],
    secrets: SecretEnvironment,
    logger: Logger,
  ) {
    this.#store = store;
    this.#isAdminToken = tokenMatcher(adminToken);
    this.#config = config;
    this.#secrets = secrets;
    this.#logger = logger;
  }

  get sessionMs(): number {
    return this.#config.sessionHours * 3_600_000;
  }

  /**
   * On a hub with no users: creates "admin" with the configured initial password, or with a random one that
   * is returned (for main to print once; it is never logged).
   */
  async ensureInitialAdmin(): Promise<string | undefined> {
    if ((await this.#store.listUsers()).length > 0) return undefined;
    const configured = this.#config.initialAdminPassword;
    const password = configured
      ? readSecret(configured, this.#secrets).toString('utf8').trim()
      : randomBytes(15).toString('base64url');
    try {
      await this.#store.createUser({
        username: 'admin',
        passwordHash: await hashPassword(password),
        role: 'admin',
      });
    } catch (error) {
      // Another replica made it first.
      if ((error as { code?: string }).code === HubErrorCode.storeUserExists) return undefined;
      throw error;
    }
    await this.#store.appendAudit({
      actor: 'hub',
      action: 'user.create',
      target: 'admin',
      details: { role: 'admin' },
    });
    this.#logger.info('created the first admin user "admin"');
    return configured ? undefined : password;
  }

  tokenActor(token: string): Actor | undefined {
    if (!this.#isAdminToken(token)) return undefined;
    return { name: tokenActorName, role: 'admin', siteScope: null, via: 'token' };
  }

  async sessionActor(token: string): Promise<Actor | undefined> {
    const session = await this.#store.getSession(sha256(token));
    if (!session) return undefined;
    const user = await this.#store.getUser(session.username);
    if (!user) return undefined;
    const now = Date.now();
    // Sliding expiry, written at most once a minute.
    if (now - session.lastUsedAt > 60_000)
      await this.#store.touchSession(session.tokenHash, now + this.sessionMs);
    return { name: user.username, role: user.role, siteScope: user.siteScope, via: 'session', session };
  }

  #recentFailures(key: string, now: number): number[] {
    const recent = (this.#failures.get(key) ?? []).filter((t) => now - t < windowMs);
    this.#failures.set(key, recent);
    return recent;
  }

  /** Checks a password and opens a session: returns the session token and its CSRF token. */
  async login(
    username: string,
    password: string,
    address: string,
  ): Promise<{ token: string; csrfToken: string; user: User }> {
    const now = Date.now();
    const limit = this.#config.loginAttemptsPerMinute;
    const userKey = `user:${username.toLowerCase()}`;
    const addressKey = `addr:${address}`;
    const keys = [userKey, addressKey];
    if (
      this.#recentFailures(userKey, now).length >= limit ||
      this.#recentFailures(addressKey, now).length >= limit * addressAllowance
    ) {
      throw hubError(HubErrorCode.authRateLimited, 'too many failed logins; wait a minute and try again');
    }
    const user = await this.#store.getUser(username);
    const ok = await verifyPassword(password, user?.passwordHash ?? decoyHash);
    if (!user || !ok) {
      for (const key of keys) this.#recentFailures(key, now).push(now);
      this.#logger.warn({ username: username.slice(0, 64), address }, 'failed login');
      throw hubError(HubErrorCode.authLoginFailed, 'wrong user name or password');
    }
    this.#failures.delete(userKey);
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    await this.#store.createSession({
      tokenHash: sha256(token),
      username: user.username,
      csrfHash: sha256(csrfToken),
      expiresAt: now + this.sessionMs,
    });
    await this.#store.deleteExpiredSessions();
    return { token, csrfToken, user };
  }

  async logout(session: Session): Promise<void> {
    await this.#store.deleteSession(session.tokenHash);
  }

  csrfMatches(session: Session, header: string | undefined): boolean {
    if (!header) return false;
    return timingSafeEqual(Buffer.from(sha256(header)), Buffer.from(session.csrfHash));
  }
}
