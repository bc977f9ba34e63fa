/**
 * Pro Santé Connect mode: the professional authenticated with PSC (e-CPS app or card) in the web
 * app, which passes its access token; the daemon builds the PSC assertion and sends the token.
 *
 * Publicly specified (the guide's official example request
 * `WS_INS2_rechercherInsAvecTraitsIdentite_requête_avec_header.xml`, package v05.00.01, as quoted
 * in lsoulier42/healthcare-domain `INSi-adaptations.md` §2.3): an UNSIGNED SAML assertion whose
 * `NameID` has `NameQualifier="PSC"`, with the attributes `codeSpecialiteAMO`,
 * `identifiantFacturation`, and `gipProfessionCode` when the user has several professions.
 *
 * Not public, hence our choices (docs/insi.md lists them): where the token travels (we send it as
 * `Authorization: Bearer`, RFC 6750, since the 1.5.0 Security XSD allows only SAML assertions in
 * wsse:Security), the NameID value (the token's `preferred_username`, PSC's national identifier,
 * else `SubjectNameID`, else `sub`), the Issuer (the token's `iss`), and whether `secteurActivite`
 * is wanted too (sent when configured).
 *
 * The token is never logged, stored, cached or put in an error: only its claims are read, and
 * only to fill the assertion (INSi verifies the token; the daemon cannot and does not try).
 */
import { randomUUID } from "node:crypto";
import { InvalidParamsError } from "../errors.ts";
import type { AssertionAttribute } from "./assertion-ps.ts";
import { NS } from "./namespaces.ts";
import { escapeXml } from "./xml.ts";

export interface PscCredentials {
  readonly accessToken: string;
  /** GIP profession code, when the professional has several professions. */
  readonly professionCode?: string | undefined;
}

export interface PscClaims {
  readonly issuer: string;
  /** The professional's national identifier, the assertion's NameID. */
  readonly nameId: string;
  /** Seconds since the epoch. */
  readonly expiresAt: number;
}

/** The clock difference tolerated on the token's expiry (the service decides in the end). */
export const PSC_CLOCK_SKEW_SECONDS = 60;

function refuse(message: string): InvalidParamsError {
  // The path names the parameter; the message never repeats the token.
  return new InvalidParamsError([{ path: "psc.accessToken", message }]);
}

/** The claims we need, from the token's payload (not verified here: INSi verifies the token). */
export function pscClaims(token: string, now: Date): PscClaims {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[1] === undefined) throw refuse("not a JWT");
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  } catch {
    throw refuse("the JWT payload is not JSON");
  }
  if (typeof payload !== "object" || payload === null) throw refuse("the JWT payload is not an object");
  const claims = payload as Record<string, unknown>;
  const text = (name: string) => {
    const value = claims[name];
    return typeof value === "string" && value !== "" && value.length <= 256 ? value : undefined;
  };
  const issuer = text("iss");
  const nameId = text("preferred_username") ?? text("SubjectNameID") ?? text("sub");
  const exp = claims["exp"];
  if (issuer === undefined) throw refuse("the token has no issuer (iss)");
  if (nameId === undefined) throw refuse("the token names no professional (preferred_username, sub)");
  if (typeof exp !== "number" || !Number.isFinite(exp)) throw refuse("the token has no expiry (exp)");
  if (exp + PSC_CLOCK_SKEW_SECONDS <= now.getTime() / 1000) throw refuse("the token has expired");
  return { issuer, nameId, expiresAt: exp };
}

/** The unsigned PSC assertion; it expires with the token at the latest. */
export function pscAssertionXml(
  claims: PscClaims,
  attributes: readonly AssertionAttribute[],
  issueInstant: Date,
  validitySeconds: number,
): string {
  const notBefore = new Date(issueInstant.getTime() - PSC_CLOCK_SKEW_SECONDS * 1000);
  const notOnOrAfter = new Date(
    Math.min(issueInstant.getTime() + validitySeconds * 1000, claims.expiresAt * 1000),
  );
  const statement =
    attributes.length === 0
      ? ""
      : `<AttributeStatement>${attributes
          .map(
            (a) =>
              `<Attribute Name="${escapeXml(a.name)}"><AttributeValue>${escapeXml(a.value)}</AttributeValue></Attribute>`,
          )
          .join("")}</AttributeStatement>`;
  return (
    `<Assertion xmlns="${NS.saml}" ID="_${randomUUID()}" IssueInstant="${issueInstant.toISOString()}" Version="2.0">` +
    `<Issuer>${escapeXml(claims.issuer)}</Issuer>` +
    `<Subject><NameID NameQualifier="PSC">${escapeXml(claims.nameId)}</NameID></Subject>` +
    `<Conditions NotBefore="${notBefore.toISOString()}" NotOnOrAfter="${notOnOrAfter.toISOString()}"/>` +
    statement +
    `</Assertion>`
  );
}
