/**
 * A test Pro Santé Connect issuer for the simulator: RS256 JWT access tokens with the claims the
 * daemon reads (iss, sub, preferred_username, exp, iat). Its key is generated at run time; tokens
 * from any other key or issuer are foreign to the simulator. Not the real PSC: its token format
 * beyond these claims is not something the daemon relies on.
 */
import { generateKeyPairSync, sign, verify, type KeyObject } from "node:crypto";

export const PSC_TEST_ISSUER_URL = "https://psc.simulateur.invalid/auth/realms/esante-wallet";

export interface PscTestIssuer {
  readonly issuer: string;
  readonly publicKey: KeyObject;
  /** A token for this professional (idNat as preferred_username), valid `expiresInSeconds` (negative: expired). */
  token(options: { readonly idNat: string; readonly expiresInSeconds?: number; readonly now?: Date }): string;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

export function createPscTestIssuer(issuer = PSC_TEST_ISSUER_URL): PscTestIssuer {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    issuer,
    publicKey,
    token({ idNat, expiresInSeconds = 300, now = new Date() }) {
      const iat = Math.floor(now.getTime() / 1000);
      const head = b64({ alg: "RS256", typ: "JWT" });
      const body = b64({
        iss: issuer,
        sub: `sim-${idNat}`,
        preferred_username: idNat,
        iat,
        exp: iat + expiresInSeconds,
        scope: "openid scope_all",
      });
      const signature = sign("sha256", Buffer.from(`${head}.${body}`), privateKey).toString("base64url");
      return `${head}.${body}.${signature}`;
    },
  };
}

let shared: PscTestIssuer | undefined;
export function getPscTestIssuer(): PscTestIssuer {
  shared ??= createPscTestIssuer();
  return shared;
}

export type PscTokenCheck = { ok: true; idNat: string } | { ok: false; message: string };

/** The simulator's check of a bearer token: our issuer's signature, its `iss`, not expired. */
export function checkPscToken(
  token: string,
  trusted: PscTestIssuer,
  now: Date,
  skewSeconds = 60,
): PscTokenCheck {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, message: "jeton PSC illisible" };
  const [head = "", body = "", signature = ""] = parts;
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(head, "base64url").toString("utf8")) as Record<string, unknown>;
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return { ok: false, message: "jeton PSC illisible" };
  }
  if (header["alg"] !== "RS256") return { ok: false, message: "jeton PSC non reconnu (algorithme)" };
  if (
    !verify("sha256", Buffer.from(`${head}.${body}`), trusted.publicKey, Buffer.from(signature, "base64url"))
  )
    return { ok: false, message: "jeton PSC non reconnu (signature)" };
  if (claims["iss"] !== trusted.issuer) return { ok: false, message: "jeton PSC non reconnu (émetteur)" };
  const exp = claims["exp"];
  if (typeof exp !== "number" || exp + skewSeconds <= now.getTime() / 1000)
    return { ok: false, message: "jeton PSC expiré" };
  const idNat = claims["preferred_username"];
  if (typeof idNat !== "string" || idNat === "") return { ok: false, message: "jeton PSC sans identifiant" };
  return { ok: true, idNat };
}
