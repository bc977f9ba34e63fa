/**
 * PasserelleError: the one error type that crosses concerns inside the daemon.
 *
 * Its `reason` maps one-to-one to the protocol's `data.reason` and JSON-RPC code (see
 * protocol/src/errors.ts). Card status words, PC/SC return codes and SOAP faults are translated
 * into a PasserelleError once, at the edge where they arise; callers match on `reason`, never on
 * message text. `details` is sent to the web app as `data` next to `reason`: it must never hold a
 * NIR, a name, a birth date, an idNat or a PIN. `message` is for logs and the JSON-RPC message;
 * the same rule applies.
 */
import { ERROR_REASONS, type ErrorReason } from "@passerelle/protocol/errors";

export type { ErrorReason };

export class PasserelleError extends Error {
  override readonly name = "PasserelleError";
  readonly reason: ErrorReason;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(reason: ErrorReason, message?: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message ?? ERROR_REASONS[reason].message, cause === undefined ? undefined : { cause });
    this.reason = reason;
    this.details = details;
  }

  get code(): number {
    return ERROR_REASONS[this.reason].code;
  }

  get retriable(): boolean {
    return ERROR_REASONS[this.reason].retriable;
  }
}

export function isPasserelleError(error: unknown, reason?: ErrorReason): error is PasserelleError {
  return error instanceof PasserelleError && (reason === undefined || error.reason === reason);
}

/**
 * Params that passed the schema but cannot be used as given (a beneficiary index the card does not
 * have, traits INSi would refuse, a readerId needed because two readers qualify): answered as
 * JSON-RPC -32602 with `data.issues`, like a schema failure. Not retriable: the call must change.
 */
export class InvalidParamsError extends Error {
  override readonly name = "InvalidParamsError";
  readonly issues: ReadonlyArray<{ path: string; message: string }>;
  constructor(issues: ReadonlyArray<{ path: string; message: string }>) {
    super(`invalid params: ${issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ")}`);
    this.issues = issues;
  }
}
