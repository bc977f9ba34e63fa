/**
 * Pairing, composed with the administrator's allowlist (anchors.md §4.2 rule 4):
 *
 * - granted: the daemon's own page, an origin of `allowedOrigins`/`--allow-origin`, or an origin the
 *   user allowed on the consent page (the grant store). `deniedOrigins` wins over all of them.
 * - eligible (may complete the upgrade): granted, or pairable — any https origin, and in development
 *   (`--simulate`, or `pairing.localhostHttp`) `http://localhost:<port>` / `http://127.0.0.1:<port>`.
 *   A pairable origin that is not granted is answered only `system.hello`, `system.ping` and
 *   `access.request` (the server's `preAccess` rule), and gets no event.
 * - `access.request` opens the daemon's consent page (`/consent.html#<token>`) in the user's browser
 *   and answers at once `{access:"pending", pairingCode}`; the user's decision comes as
 *   `access.changed` (`granted`, `denied`), and `none` when nobody decided in time.
 * - A denial on the consent page is remembered for DENIAL_COOLDOWN_MS (the app's later requests are
 *   answered `denied` without a page), across a restart too when a DenialStore is given
 *   (`<data dir>/access/denials.json`: a damaged one is one log line and no memory from it); revocation (`passerelle access revoke`, the daemon's page)
 *   sends `access.changed {access:"none"}`: the connections stay open, downgraded to the pre-access
 *   methods, their subscriptions dropped.
 *
 * Every grant, denial, expiry and revocation is an audit record (kind `access`: the origin, nothing else).
 */
import { watch, mkdirSync, type FSWatcher } from "node:fs";
import path from "node:path";
import type { AccessGrant, AccessState } from "@passerelle/protocol";
import type { AuditSink } from "../audit/audit-trail.ts";
import type { Logger } from "../audit/logger.ts";
import { PasserelleError } from "../errors.ts";
import type { AccessPolicy } from "./access-policy.ts";
import { ConsentRequests, type ConsentLimits, type PendingConsent } from "./consent.ts";
import type { DenialStore } from "./denial-store.ts";
import { GRANTS_FILE_NAME, GrantStoreError, type Grant, type GrantStore } from "./grant-store.ts";

/** How long a denial on the consent page stands before the app may ask again. */
export const DENIAL_COOLDOWN_MS = 10 * 60_000;
const MAX_DENIALS_REMEMBERED = 1000;

/** What the daemon's pages (consent page, grant list) may do: own origin only (`selfOnly` methods). */
export interface PairingControl {
  /** `access.consent`: the request the consent page's token names. */
  consent(token: string): { origin: string; appName?: string; pairingCode: string; expiresAt: string };
  /** `access.decide`: the user's answer; the token is dead afterwards. */
  decide(token: string, allow: boolean): Promise<{ access: AccessState }>;
  list(): AccessGrant[];
  revoke(origin: string, by: string): Promise<{ revoked: boolean }>;
}

export interface PairingOptions {
  readonly allowedOrigins: readonly string[];
  readonly pinFromPage: readonly string[];
  readonly deniedOrigins: readonly string[];
  /** The daemon's own origins (its pages), always granted; known once the port is bound. */
  readonly selfOrigins: () => readonly string[];
  /** false: the allowlist only (no origin may ask). */
  readonly enabled: boolean;
  /** Development: `http://localhost:*` and `http://127.0.0.1:*` may pair too. */
  readonly localhostHttp: boolean;
  readonly store: GrantStore;
  /** Where denials are kept across a restart; absent: in memory only. */
  readonly denials?: DenialStore;
  readonly audit: AuditSink;
  readonly logger: Logger;
  /** The consent page's address without the token (`https://localhost:<port>/consent.html`). */
  readonly consentPageUrl: () => string | null;
  /** Opens a URL of the daemon's in the user's browser; false when there is no way to. */
  readonly open: (url: string) => boolean;
  /** Follow changes made to the grants file by the command line (default true). */
  readonly watch?: boolean;
  readonly timeoutMs?: number;
  readonly limits?: ConsentLimits;
  readonly denialCooldownMs?: number;
  readonly now?: () => number;
}

/** May this origin ask for access at all (before the allowlist and the deny list)? */
export function isPairable(origin: string, localhostHttp: boolean): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol === "https:") return true;
  return (
    localhostHttp &&
    url.protocol === "http:" &&
    (url.hostname === "localhost" || url.hostname === "127.0.0.1")
  );
}

type Listener = (origin: string, access: AccessState) => void;

export class PairingPolicy implements AccessPolicy, PairingControl {
  readonly #options: PairingOptions;
  readonly #allowed: ReadonlySet<string>;
  readonly #denied: ReadonlySet<string>;
  readonly #pinOrigins: ReadonlySet<string>;
  readonly #listeners = new Set<Listener>();
  readonly #consents: ConsentRequests;
  readonly #denials = new Map<string, number>();
  readonly #now: () => number;
  #grants = new Map<string, Grant>();
  /** The grants file could not be read: nothing paired, nothing written over it. */
  #storeProblem: string | null = null;
  /** The denials file cannot be used (damaged, unwritable): said once, never written over. */
  #denialsProblem = false;
  #watcher: FSWatcher | null = null;
  #reloadTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(options: PairingOptions) {
    this.#options = options;
    this.#allowed = new Set(options.allowedOrigins);
    this.#denied = new Set(options.deniedOrigins);
    this.#pinOrigins = new Set(options.pinFromPage);
    this.#now = options.now ?? Date.now;
    this.#consents = new ConsentRequests({
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      now: this.#now,
      onExpire: (consent) => void this.#expired(consent),
    });
    this.#load();
    this.#loadDenials();
    if (options.watch ?? true) this.#watch();
  }

  // ---- AccessPolicy ---------------------------------------------------------------------------
  eligible(origin: string): boolean {
    if (this.#denied.has(origin)) return false;
    if (this.#grantedWithoutPairing(origin) || this.#grants.has(origin)) return true;
    return this.#options.enabled && isPairable(origin, this.#options.localhostHttp);
  }

  state(origin: string): AccessState {
    if (this.#denied.has(origin)) return "denied";
    if (this.#grantedWithoutPairing(origin) || this.#grants.has(origin)) return "granted";
    if (this.#consents.pendingFor(origin)) return "pending";
    if (this.#deniedRecently(origin)) return "denied";
    return "none";
  }

  async request(
    origin: string,
    appName: string | undefined,
  ): Promise<{ access: AccessState; pairingCode?: string }> {
    const state = this.state(origin);
    if (state === "granted" || state === "denied") return { access: state };
    if (!this.#options.enabled || !isPairable(origin, this.#options.localhostHttp))
      return { access: "denied" };
    if (this.#storeProblem !== null)
      throw new PasserelleError("CONSENT_UNAVAILABLE", "the grants file is damaged: see the daemon's log");
    const url = this.#options.consentPageUrl();
    const { token, consent } = this.#consents.start(origin, appName); // BUSY, RATE_LIMITED
    if (url === null || !this.#options.open(`${url}#${token}`)) {
      this.#consents.take(token);
      throw new PasserelleError(
        "CONSENT_UNAVAILABLE",
        "the daemon could not open its consent page (no desktop session): ask the administrator to list this origin",
      );
    }
    this.#emit(origin, "pending");
    return { access: "pending", pairingCode: consent.pairingCode };
  }

  pinFromPage(origin: string): boolean {
    return this.#pinOrigins.has(origin) && this.state(origin) === "granted";
  }

  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- PairingControl -------------------------------------------------------------------------
  consent(token: string): { origin: string; appName?: string; pairingCode: string; expiresAt: string } {
    const consent = this.#consents.get(token);
    if (!consent) throw noSuchConsent();
    return {
      origin: consent.origin,
      ...(consent.appName === undefined ? {} : { appName: consent.appName }),
      pairingCode: consent.pairingCode,
      expiresAt: consent.expiresAt.toISOString(),
    };
  }

  async decide(token: string, allow: boolean): Promise<{ access: AccessState }> {
    const consent = this.#consents.take(token); // one time: a second decision finds nothing
    if (!consent) throw noSuchConsent();
    const { origin } = consent;
    const durationMs = this.#now() - consent.startedAt;
    if (!allow || this.#denied.has(origin)) {
      this.#rememberDenial(origin);
      this.#emit(origin, "denied");
      await this.#audit(origin, "access.deny", durationMs, "USER_CANCELLED");
      return { access: "denied" };
    }
    const grant: Grant = {
      origin,
      ...(consent.appName === undefined ? {} : { appName: consent.appName }),
      grantedAt: new Date(this.#now()).toISOString(),
    };
    try {
      // Audited before it takes effect: a grant the trail cannot record is not made.
      await this.#audit(origin, "access.grant", durationMs);
      this.#options.store.add(grant);
    } catch (error) {
      this.#emit(origin, "none");
      if (error instanceof GrantStoreError) {
        this.#options.logger.error("cannot store the grant", { error: error.message });
        throw new PasserelleError(
          "CONSENT_UNAVAILABLE",
          "the grant could not be stored: see the daemon's log",
        );
      }
      throw error;
    }
    this.#denials.delete(origin);
    this.#grants.set(origin, grant);
    this.#emit(origin, "granted");
    return { access: "granted" };
  }

  list(): AccessGrant[] {
    return [...this.#grants.values()].map((grant) => ({ ...grant }));
  }

  async revoke(origin: string, by: string): Promise<{ revoked: boolean }> {
    let removed: boolean;
    try {
      removed = this.#options.store.remove(origin);
    } catch (error) {
      if (error instanceof GrantStoreError) {
        this.#options.logger.error("cannot revoke", { error: error.message });
        throw new PasserelleError(
          "CONSENT_UNAVAILABLE",
          "the grants file cannot be changed (damaged, or locked by another process): see the daemon's log",
        );
      }
      throw error;
    }
    const had = this.#grants.delete(origin);
    if (!removed && !had) return { revoked: false };
    this.#emit(origin, this.state(origin));
    await this.#audit(origin, "access.revoke", 0, by);
    return { revoked: true };
  }

  close(): void {
    this.#consents.close();
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#reloadTimer) clearTimeout(this.#reloadTimer);
  }

  // ---- inside ---------------------------------------------------------------------------------
  #grantedWithoutPairing(origin: string): boolean {
    return this.#allowed.has(origin) || this.#options.selfOrigins().includes(origin);
  }

  #deniedRecently(origin: string): boolean {
    const at = this.#denials.get(origin);
    if (at === undefined) return false;
    if (this.#now() - at < (this.#options.denialCooldownMs ?? DENIAL_COOLDOWN_MS)) return true;
    this.#denials.delete(origin);
    return false;
  }

  #rememberDenial(origin: string): void {
    if (this.#denials.size >= MAX_DENIALS_REMEMBERED) {
      const oldest = this.#denials.keys().next().value;
      if (oldest !== undefined) this.#denials.delete(oldest);
    }
    this.#denials.delete(origin);
    this.#denials.set(origin, this.#now());
    this.#keepDenials((store) => store.add(origin));
  }

  /** The denials that still stand from before a restart; a damaged file: one line, no memory. */
  #loadDenials(): void {
    const store = this.#options.denials;
    if (!store) return;
    try {
      for (const denial of store.list()) this.#denials.set(denial.origin, Date.parse(denial.deniedAt));
    } catch (error) {
      this.#denialsProblem = true;
      this.#options.logger.error(
        "denials file unreadable: no earlier denial is remembered, and it is not written over",
        { error: error instanceof Error ? error.message : String(error) },
      );
    }
  }

  /** Writes a change of the denials to their file; a failure is said once (memory still holds it). */
  #keepDenials(change: (store: DenialStore) => void): void {
    const store = this.#options.denials;
    if (!store || this.#denialsProblem) return;
    try {
      change(store);
    } catch (error) {
      this.#denialsProblem = true;
      this.#options.logger.error("cannot keep denials across a restart: they stand in memory only", {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  async #expired(consent: PendingConsent): Promise<void> {
    this.#emit(consent.origin, this.state(consent.origin));
    try {
      await this.#audit(consent.origin, "access.expire", this.#now() - consent.startedAt, "TIMEOUT");
    } catch (error) {
      this.#options.logger.error("cannot audit an expired consent request", { error });
    }
  }

  #emit(origin: string, access: AccessState): void {
    for (const listener of this.#listeners) listener(origin, access);
  }

  #audit(origin: string, method: string, durationMs: number, reason?: string): Promise<void> {
    return this.#options.audit.record({ kind: "access", origin, method, durationMs, reason });
  }

  /** Reads the grants file; a damaged one leaves nothing paired and is said once in the log. */
  #load(): void {
    let grants: Grant[];
    try {
      grants = this.#options.store.list();
      this.#storeProblem = null;
    } catch (error) {
      if (!(error instanceof GrantStoreError)) throw error;
      if (this.#storeProblem !== error.message)
        this.#options.logger.error(
          "grants file unreadable: no origin is paired until it is repaired or removed",
          {
            error: error.message,
          },
        );
      this.#storeProblem = error.message;
      grants = [];
    }
    const before = this.#grants;
    this.#grants = new Map(grants.map((grant) => [grant.origin, grant]));
    // Changes made elsewhere (the command line): tell the origins' connections.
    for (const origin of before.keys()) if (!this.#grants.has(origin)) this.#emit(origin, this.state(origin));
    for (const origin of this.#grants.keys()) if (!before.has(origin)) this.#emit(origin, this.state(origin));
  }

  #watch(): void {
    const dir = path.dirname(this.#options.store.file);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.#watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (name !== null && name !== GRANTS_FILE_NAME) return;
        // A rename and a change arrive together: read once, a moment later.
        if (this.#reloadTimer) clearTimeout(this.#reloadTimer);
        this.#reloadTimer = setTimeout(() => {
          this.#reloadTimer = null;
          this.#load();
        }, 50);
      });
      this.#watcher.on("error", () => undefined);
    } catch (error) {
      this.#options.logger.warn(
        "cannot watch the grants file: revocations from the command line apply at the next start",
        {
          error,
        },
      );
    }
  }
}

function noSuchConsent(): PasserelleError {
  return new PasserelleError(
    "ACCESS_DENIED",
    "no consent request with this token (already decided, expired, or not the page the daemon opened)",
  );
}
