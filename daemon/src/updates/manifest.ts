/**
 * The signed update manifest: `{"manifest": "<JSON text>", "signature": "<base64 Ed25519>"}`. The
 * signature covers the exact UTF-8 bytes of the `manifest` string, so no canonical JSON is needed;
 * only then is that text parsed and validated. The inner JSON:
 *
 *   {"product":"passerelle","version":"0.2.0","released":"2026-12-01T00:00:00Z",
 *    "expires":"2027-01-01T00:00:00Z",
 *    "artefacts":[{"os":"linux","arch":"x64","kind":"deb","url":"https://…","sha256":"…"}, …]}
 *
 * `expires` bounds how long an old manifest can be replayed to hide a newer release; a manifest whose
 * version is older than the running one is refused as a downgrade (a rollback attempt).
 */
import { verify, type KeyObject } from "node:crypto";
import { z } from "zod";

const VERSION = /^(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:-([0-9A-Za-z.-]{1,40}))?$/;

const HttpsUrl = z
  .string()
  .max(2000)
  .refine((value) => {
    try {
      return new URL(value).protocol === "https:";
    } catch {
      return false;
    }
  }, "an https:// URL");

export const Artefact = z.strictObject({
  os: z.enum(["linux", "win32", "darwin"]),
  arch: z.enum(["x64", "arm64"]),
  kind: z.string().regex(/^[a-z0-9-]{1,40}$/),
  url: HttpsUrl,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type Artefact = z.infer<typeof Artefact>;

export const UpdateManifest = z.strictObject({
  product: z.literal("passerelle"),
  version: z.string().regex(VERSION),
  released: z.iso.datetime({ offset: true }),
  expires: z.iso.datetime({ offset: true }),
  artefacts: z.array(Artefact).min(1).max(50),
  notes: HttpsUrl.optional(),
});
export type UpdateManifest = z.infer<typeof UpdateManifest>;

const Envelope = z.strictObject({
  manifest: z.string().min(2).max(60_000),
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, "a base64 Ed25519 signature (64 bytes)"),
});

export type UpdateErrorKind =
  | "not-configured"
  | "no-key"
  | "timeout"
  | "network"
  | "tls"
  | "http"
  | "too-large"
  | "malformed"
  | "bad-signature"
  | "expired"
  | "downgrade";

/** A check that could not say "up to date" or "X available"; `kind` is stable (docs/admin-guide.md). */
export class UpdateCheckError extends Error {
  override readonly name = "UpdateCheckError";
  readonly kind: UpdateErrorKind;
  constructor(kind: UpdateErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** -1, 0 or 1; a pre-release sorts before its release (1.0.0-rc.1 < 1.0.0). */
export function compareVersions(a: string, b: string): number {
  const pa = VERSION.exec(a);
  const pb = VERSION.exec(b);
  if (!pa || !pb) throw new Error(`not a version: ${pa ? b : a}`);
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i]);
    if (d !== 0) return Math.sign(d);
  }
  if (pa[4] === pb[4]) return 0;
  if (pa[4] === undefined) return 1;
  if (pb[4] === undefined) return -1;
  return pa[4] < pb[4] ? -1 : 1;
}

/** Verifies the envelope's signature with one of `keys`, then parses and validates the manifest. */
export function openManifest(
  body: string,
  keys: ReadonlyArray<{ id: string; key: KeyObject }>,
): { manifest: UpdateManifest; keyId: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new UpdateCheckError("malformed", "the update manifest is not JSON");
  }
  const envelope = Envelope.safeParse(json);
  if (!envelope.success) {
    throw new UpdateCheckError(
      "malformed",
      "the update manifest is not a signed manifest (manifest, signature)",
    );
  }
  const data = Buffer.from(envelope.data.manifest, "utf8");
  const signature = Buffer.from(envelope.data.signature, "base64");
  const signer = keys.find(({ key }) => verify(null, data, key, signature));
  if (!signer) {
    throw new UpdateCheckError(
      "bad-signature",
      "the update manifest's signature does not verify with the pinned key",
    );
  }
  let inner: unknown;
  try {
    inner = JSON.parse(envelope.data.manifest);
  } catch {
    throw new UpdateCheckError("malformed", "the signed manifest is not JSON");
  }
  const parsed = UpdateManifest.safeParse(inner);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first && first.path.length > 0 ? first.path.join(".") : "(root)";
    throw new UpdateCheckError(
      "malformed",
      `the signed manifest is invalid: ${where}: ${first?.message ?? "?"}`,
    );
  }
  return { manifest: parsed.data, keyId: signer.id };
}

export type CheckOutcome =
  | { status: "up-to-date"; current: string; manifest: UpdateManifest }
  | { status: "available"; current: string; manifest: UpdateManifest; artefacts: Artefact[] };

/** What the manifest says for this running version and system. */
export function judge(
  manifest: UpdateManifest,
  current: string,
  platform: { os: string; arch: string },
  now = new Date(),
): CheckOutcome {
  if (Date.parse(manifest.expires) <= now.getTime()) {
    throw new UpdateCheckError("expired", `the update manifest expired on ${manifest.expires}`);
  }
  const order = compareVersions(manifest.version, current);
  if (order < 0) {
    throw new UpdateCheckError(
      "downgrade",
      `the update manifest offers ${manifest.version}, older than this ${current}: refused (a rollback?)`,
    );
  }
  if (order === 0) return { status: "up-to-date", current, manifest };
  const artefacts = manifest.artefacts.filter((a) => a.os === platform.os && a.arch === platform.arch);
  return { status: "available", current, manifest, artefacts };
}
