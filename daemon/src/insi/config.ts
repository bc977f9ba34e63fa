/**
 * INSi configuration (the `insi` key of the daemon config file). Production URLs and credentials
 * are configuration, never code: the INSi production endpoints are not public.
 *
 * The LPS identity (IDAM, software name and version) is per ORIGIN, with a machine default: the
 * software the CNDA approved for INSi is the web application that asks, so two web apps on one
 * workstation carry two IDAMs.
 */
import { z } from "zod";

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_RESPONSE_TIMEOUT_MS = 20_000;
/** Idle keep-alive sockets are closed before a typical server (5 s) would close them under us. */
export const DEFAULT_KEEP_ALIVE_MS = 4_000;
/** The GIE kit regenerates the assertion PS after 20 s; bursts within that window reuse it. */
export const DEFAULT_ASSERTION_CACHE_SECONDS = 20;
/** NotOnOrAfter of the assertion PS. The server-side window is not public; keep it short. */
export const DEFAULT_ASSERTION_VALIDITY_SECONDS = 300;

export const LpsIdentityConfig = z.strictObject({
  /** CNDA authorisation number of the software (ContexteLPS/LPS/IDAM, R="4"). */
  idam: z.string().min(1).max(64),
  softwareName: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[^:<>&]+$/, "no ':', '<', '>' or '&'"),
  softwareVersion: z
    .string()
    .min(1)
    .max(32)
    .regex(/^[^:<>&]+$/, "no ':', '<', '>' or '&'"),
});
export type LpsIdentityConfig = z.infer<typeof LpsIdentityConfig>;

const origin = z.string().regex(/^https?:\/\/[^/\s]+$/, "an origin: scheme://host[:port]");

const attributeValue = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' or '-'");

/**
 * The AttributeStatement of the assertion PS (SEL-MP-043 v05.00.01 §3.2 as quoted publicly):
 * `identifiantFacturation` (an establishment: its geographic FINESS, else its SIRET; a liberal
 * practitioner: the AM billing identifier — the guide asks for it to be configurable),
 * `secteurActivite`, and `codeSpecialite` (the AMO specialty) for doctors and doctors in training.
 * None of them is on the card in a form we can read publicly: configuration, per workstation with a
 * per-origin override (field by field).
 */
export const AssertionAttributesConfig = z.strictObject({
  identifiantFacturation: attributeValue.optional(),
  secteurActivite: attributeValue.optional(),
  codeSpecialite: attributeValue.optional(),
});
export type AssertionAttributesConfig = z.infer<typeof AssertionAttributesConfig>;

export const InsiConfig = z.strictObject({
  /** card: the CPS signs an assertion PS, server-auth TLS. organisation: mutual TLS, no assertion. */
  mode: z.enum(["card", "organisation", "psc"]),
  /** The assertion PS's AttributeStatement (card mode): machine default, then per origin. */
  attributes: z
    .strictObject({
      default: AssertionAttributesConfig.default({}),
      origins: z.record(origin, AssertionAttributesConfig).default({}),
    })
    .default({ default: {}, origins: {} }),
  endpoints: z
    .strictObject({
      /** Endpoint for card mode (qualification: https://qualiflps.services-ps.ameli.fr/lps). */
      card: z.url({ protocol: /^https$/ }).optional(),
      /** Endpoint for organisation mode (qualification: https://qualiflps-services-ps-tlsm.ameli.fr/lps). */
      organisation: z.url({ protocol: /^https$/ }).optional(),
      /** Endpoint for Pro Santé Connect mode (not public: configuration only). */
      psc: z.url({ protocol: /^https$/ }).optional(),
    })
    .default({}),
  organisation: z
    .strictObject({
      /** PKCS#12 file with the IGC-Santé organisation certificate (CN INSI-AUTO or INSI-MANU), key and chain. */
      pkcs12Path: z.string().min(1),
      passphrase: z.string().optional(),
      /** Name of an environment variable holding the passphrase (kept out of the file). */
      passphraseEnv: z.string().min(1).optional(),
    })
    .optional(),
  /** PEM file of the CA certificates that may sign the INSi server certificate (IGC-Santé chain). */
  caBundlePath: z.string().min(1).optional(),
  timeouts: z
    .strictObject({
      connectMs: z.number().int().min(100).max(120_000).default(DEFAULT_CONNECT_TIMEOUT_MS),
      responseMs: z.number().int().min(100).max(300_000).default(DEFAULT_RESPONSE_TIMEOUT_MS),
    })
    .default({ connectMs: DEFAULT_CONNECT_TIMEOUT_MS, responseMs: DEFAULT_RESPONSE_TIMEOUT_MS }),
  keepAliveMs: z.number().int().min(0).max(600_000).default(DEFAULT_KEEP_ALIVE_MS),
  assertion: z
    .strictObject({
      /** How long a signed assertion PS is reused (0: sign for every call). */
      cacheSeconds: z.number().int().min(0).max(3_600).default(DEFAULT_ASSERTION_CACHE_SECONDS),
      // At most an hour: padoa's notes say the assertion expires after 1 h, and the simulator
      // refuses longer windows (simulator/insi/assertion-check.ts).
      validitySeconds: z.number().int().min(10).max(3_600).default(DEFAULT_ASSERTION_VALIDITY_SECONDS),
    })
    .refine((a) => a.cacheSeconds < a.validitySeconds, "cacheSeconds must be shorter than validitySeconds")
    .default({
      cacheSeconds: DEFAULT_ASSERTION_CACHE_SECONDS,
      validitySeconds: DEFAULT_ASSERTION_VALIDITY_SECONDS,
    }),
  /** ContexteLPS/ContexteBAM Emetteur (its normative value is not public); card mode defaults to the CPS NameID. */
  emetteur: z.string().min(1).max(64).optional(),
  /** Identifies this installation in ContexteLPS/LPS/Instance; generated by the daemon when absent. */
  instance: z.uuid().optional(),
  lps: z
    .strictObject({
      default: LpsIdentityConfig.optional(),
      origins: z.record(origin, LpsIdentityConfig).default({}),
    })
    .default({ origins: {} }),
});
export type InsiConfig = z.infer<typeof InsiConfig>;
export type InsiConfigInput = z.input<typeof InsiConfig>;

/** The endpoint for the configured mode, if any. */
export function insiEndpoint(config: InsiConfig): string | undefined {
  return config.endpoints[config.mode];
}

/** The LPS identity for a requesting origin: its own, else the machine default. */
export function lpsFor(config: InsiConfig, requestOrigin: string): LpsIdentityConfig | undefined {
  return config.lps.origins[requestOrigin] ?? config.lps.default;
}

/** The assertion attributes for a requesting origin: the machine default, overridden field by field. */
export function attributesFor(config: InsiConfig, requestOrigin: string): AssertionAttributesConfig {
  return { ...config.attributes.default, ...config.attributes.origins[requestOrigin] };
}

/** Attributes every assertion PS must carry (codeSpecialite only for doctors: checked per call). */
export const REQUIRED_ASSERTION_ATTRIBUTES = ["identifiantFacturation", "secteurActivite"] as const;
/** The PSC example carries identifiantFacturation; the rest is sent when configured. */
export const REQUIRED_PSC_ATTRIBUTES = ["identifiantFacturation"] as const;

/**
 * The attribute sets calls can use: each origin named in the configuration, and the default for
 * every other origin when there is a default LPS identity (else no other origin can call).
 */
function attributeScopes(config: InsiConfig): Array<readonly [string, AssertionAttributesConfig]> {
  const named = new Set([...Object.keys(config.lps.origins), ...Object.keys(config.attributes.origins)]);
  const scopes: Array<readonly [string, AssertionAttributesConfig]> = [...named].map(
    (o) =>
      [
        config.attributes.origins[o] ? `insi.attributes.origins["${o}"]` : "insi.attributes.default",
        attributesFor(config, o),
      ] as const,
  );
  if (config.lps.default !== undefined || named.size === 0)
    scopes.push(["insi.attributes.default", config.attributes.default]);
  const seen = new Set<string>();
  return scopes.filter(([where]) => !seen.has(where) && (seen.add(where), true));
}

/** Not blocking, but worth a line in `passerelle doctor`. */
export function insiConfigWarnings(config: InsiConfig | undefined): string[] {
  if (config?.mode !== "card") return [];
  return attributeScopes(config).some(([, attributes]) => attributes.codeSpecialite === undefined)
    ? [
        "insi.attributes.codeSpecialite: not set everywhere; calls signed by a doctor's CPS need it and are refused (INSI_NOT_CONFIGURED)",
      ]
    : [];
}

/**
 * What is missing for INSi calls, as short sentences for `passerelle doctor` (no secrets, no paths
 * content). An empty list means the configuration is complete (files are checked at client start).
 */
export function insiConfigProblems(config: InsiConfig | undefined): string[] {
  if (config === undefined) return ["insi: no INSi configuration (insi.mode, insi.endpoints, insi.lps)"];
  const problems: string[] = [];
  if (insiEndpoint(config) === undefined)
    problems.push(`insi.endpoints.${config.mode}: no endpoint URL for ${config.mode} mode`);
  if (config.mode === "organisation" && config.organisation === undefined) {
    problems.push(
      "insi.organisation.pkcs12Path: organisation mode needs the INSI-AUTO/INSI-MANU certificate (PKCS#12)",
    );
  }
  if (
    config.organisation?.passphraseEnv !== undefined &&
    process.env[config.organisation.passphraseEnv] === undefined
  ) {
    problems.push(
      `insi.organisation.passphraseEnv: environment variable ${config.organisation.passphraseEnv} is not set`,
    );
  }
  if (config.caBundlePath === undefined)
    problems.push("insi.caBundlePath: no CA bundle; the system roots do not hold IGC-Santé");
  if (config.mode !== "organisation") {
    const required = config.mode === "card" ? REQUIRED_ASSERTION_ATTRIBUTES : REQUIRED_PSC_ATTRIBUTES;
    for (const [where, attributes] of attributeScopes(config)) {
      for (const field of required) {
        if (attributes[field] === undefined)
          problems.push(`${where}.${field}: ${config.mode} mode needs it in the assertion (SEL-MP-043 §3.2)`);
      }
    }
  }
  if (config.lps.default === undefined && Object.keys(config.lps.origins).length === 0) {
    problems.push("insi.lps: no LPS identity (IDAM, software name, version), neither default nor per origin");
  }
  return problems;
}
