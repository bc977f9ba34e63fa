import { test } from "node:test";
import assert from "node:assert/strict";
import { isPasserelleError } from "../../src/errors.ts";
import { loadOrganisationCredentials } from "../../src/insi/credentials.ts";
import { getInsiTestPki } from "../../src/simulator/insi/test-pki.ts";

const pki = getInsiTestPki();

function refusal(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    assert.ok(isPasserelleError(error, "INSI_NOT_CONFIGURED"), String(error));
    return String(error.details["problem"]);
  }
  assert.fail("expected a refusal");
}

test("INSI-AUTO and INSI-MANU load, with their chain", () => {
  for (const cn of ["INSI-AUTO", "INSI-MANU"] as const) {
    const file = pki.organisation(cn);
    const loaded = loadOrganisationCredentials(file.pkcs12, file.passphrase);
    assert.equal(loaded.commonName, cn);
    assert.equal(loaded.certChainPem.match(/BEGIN CERTIFICATE/g)?.length, 2);
    assert.match(loaded.keyPem, /PRIVATE KEY/);
  }
});

test("refused at load time: wrong CN, expired, no chain, wrong passphrase, garbage", () => {
  const wrong = pki.organisation("insi-auto");
  assert.equal(
    refusal(() => loadOrganisationCredentials(wrong.pkcs12, wrong.passphrase)),
    "wrong-cn",
  );
  const expired = pki.organisation("INSI-AUTO", { expired: true });
  assert.equal(
    refusal(() => loadOrganisationCredentials(expired.pkcs12, expired.passphrase)),
    "expired",
  );
  const alone = pki.organisation("INSI-MANU", { withoutChain: true });
  assert.equal(
    refusal(() => loadOrganisationCredentials(alone.pkcs12, alone.passphrase)),
    "no-chain",
  );
  const good = pki.organisation("INSI-AUTO");
  assert.equal(
    refusal(() => loadOrganisationCredentials(good.pkcs12, "wrong")),
    "unreadable",
  );
  assert.equal(
    refusal(() => loadOrganisationCredentials(Buffer.from("not a pkcs12"), "x")),
    "unreadable",
  );
});

test("validity is judged at the given time", () => {
  const good = pki.organisation("INSI-AUTO");
  const later = new Date(Date.now() + 5 * 365 * 86_400_000);
  assert.equal(
    refusal(() => loadOrganisationCredentials(good.pkcs12, good.passphrase, later)),
    "expired",
  );
});
