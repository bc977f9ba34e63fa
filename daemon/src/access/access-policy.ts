/**
 * Who may use the daemon, as the server sees it: the AccessPolicy interface, and the allowlist
 * alone (config `allowedOrigins` and `--allow-origin`, plus the daemon's own page) — what the
 * daemon uses with `pairing.enabled: false`, and the tests of the server. The daemon's default is
 * PairingPolicy (pairing-policy.ts): the same allowlist, plus grants the user gives on the consent page.
 */
import type { AccessState } from "@passerelle/protocol";

export interface AccessPolicy {
  /** May this origin complete the WebSocket upgrade at all? Checked before any data is sent. */
  eligible(origin: string): boolean;
  /** The origin's access right now. */
  state(origin: string): AccessState;
  /** `access.request`: asks for access (the pairing seam). */
  request(
    origin: string,
    appName: string | undefined,
  ): Promise<{ access: AccessState; pairingCode?: string }>;
  /** May this origin send the CPS PIN typed in its own page? */
  pinFromPage(origin: string): boolean;
  /** Called when an origin's access changes (grant, revocation), to send `access.changed`. */
  onChange(listener: (origin: string, access: AccessState) => void): () => void;
}

export interface AllowlistOptions {
  allowedOrigins: readonly string[];
  pinFromPage: readonly string[];
  /** The daemon's own origins (its status page), always granted; known once the port is bound. */
  selfOrigins: () => readonly string[];
}

export class AllowlistPolicy implements AccessPolicy {
  private readonly allowed: ReadonlySet<string>;
  private readonly pinOrigins: ReadonlySet<string>;
  private readonly selfOrigins: () => readonly string[];

  constructor(options: AllowlistOptions) {
    this.allowed = new Set(options.allowedOrigins);
    this.pinOrigins = new Set(options.pinFromPage);
    this.selfOrigins = options.selfOrigins;
  }

  private granted(origin: string): boolean {
    return this.allowed.has(origin) || this.selfOrigins().includes(origin);
  }

  eligible(origin: string): boolean {
    // Without pairing, an origin that can never be granted has no reason to connect.
    return this.granted(origin);
  }

  state(origin: string): AccessState {
    return this.granted(origin) ? "granted" : "none";
  }

  async request(origin: string): Promise<{ access: AccessState }> {
    return { access: this.granted(origin) ? "granted" : "denied" };
  }

  pinFromPage(origin: string): boolean {
    return this.pinOrigins.has(origin);
  }

  onChange(): () => void {
    return () => undefined; // an allowlist never changes while running
  }
}
