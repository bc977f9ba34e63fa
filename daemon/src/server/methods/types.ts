/**
 * What a method handler receives and returns. Handlers live in server/methods/, one file per
 * namespace of the protocol; they call the concerns' public functions (pcsc/, cards/, insi/…) and
 * never reach into their internals.
 */
import type {
  METHODS,
  MethodName,
  MethodResult,
  NotificationName,
  NotificationParams,
} from "@passerelle/protocol";
import type { z } from "zod";
import type { AccessPolicy, PairingControl } from "../../access/index.ts";
import type { AuditSink } from "../../audit/audit-trail.ts";
import type { Logger } from "../../audit/logger.ts";
import type { PinPage } from "../pin-prompt.ts";
import type { VitaleService } from "../../cards/vitale/index.ts";
import type { InsiClient } from "../../insi/index.ts";
import type { Readers } from "../../pcsc/readers.ts";

/** The daemon's services, as handlers see them. Optional ones are absent when not configured. */
export interface Services {
  readonly version: string;
  readonly simulation: boolean;
  /** Method namespaces this build answers (see capabilitiesOf). */
  readonly capabilities: readonly string[];
  readonly readers: Readers;
  readonly access: AccessPolicy;
  /** The consent page and the grant list (pairing); absent or null: the allowlist only. */
  readonly pairing?: PairingControl | null;
  readonly logger: Logger;
  readonly vitale: VitaleService;
  /** The audit trail: written and synced before the reply. */
  readonly audit: AuditSink;
  /** The INSi client; null when INSi is not configured (calls answer INSI_NOT_CONFIGURED). */
  readonly insi: InsiClient | null;
  /** card: the CPS signs each call's assertion; organisation: the organisation certificate. */
  readonly insiMode: "card" | "organisation" | "psc" | null;
  /** The daemon's own PIN page. */
  readonly pinPage: PinPage;
  /** The simulation lab (virtual cards, INSi faults); null outside `--simulate`. */
  readonly lab: LabControl | null;
  /** True for the daemon's own page (https://localhost:<port>…). */
  isSelfOrigin(origin: string): boolean;
}

/** What the lab panel of the daemon's page may do, under --simulate only. */
export interface LabControl {
  readonly slots: ReadonlyArray<{ slot: number; readerId: string; card: string | null }>;
  readonly profiles: readonly string[];
  readonly insiFault: "none" | "delay" | "http500" | "malformed" | "reset";
  insert(slot: number, profile: string): Promise<void>;
  remove(slot: number): void;
  setInsiFault(fault: LabControl["insiFault"]): void;
}

export interface ConnectionHandle {
  readonly origin: string;
  readonly topics: ReadonlySet<"readers" | "cards">;
  subscribe(topics: ReadonlyArray<"readers" | "cards">): void;
  notify<N extends NotificationName>(name: N, params: NotificationParams<N>): void;
  /**
   * This connection shows the PIN requests (it asked for them with `pin.pending`): a PIN page. Only
   * such connections count as "a PIN page is open" (server.ts `notifyPinPages`).
   */
  showPinRequests(): void;
  /** Aborted when the connection closes: long operations (PIN entry) stop waiting. */
  readonly closed: AbortSignal;
}

export interface CallContext {
  readonly origin: string;
  readonly connection: ConnectionHandle;
  readonly services: Services;
}

export type Handler<M extends MethodName> = (
  params: z.output<(typeof METHODS)[M]["params"]>,
  context: CallContext,
) => Promise<MethodResult<M>>;

export type Handlers = { [M in MethodName]?: Handler<M> };
