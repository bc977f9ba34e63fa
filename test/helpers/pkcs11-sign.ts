/**
 * A minimal PKCS#11 caller, run as a child process (its calls block): logs in, finds the private key
 * by CKA_ID and calls C_Sign with an output buffer of exactly the modulus length. pkcs11-tool always
 * offers a larger buffer, and Cryptolib 5.2.2 then builds its CPS4 PSO DECIPHER with Le = the buffer
 * size (512), which no short APDU can carry: it refuses RSA-PKCS on the CPS4 authentication key before
 * sending anything (seen in its own trace: "Invalid Case 4 short APDU … le=512"). An application
 * asking for 256 bytes, as this one does, gets the card's answer.
 *
 *   tsx test/helpers/pkcs11-sign.ts <module> <slot> <pin> <key id hex> <mechanism> <in> <out>
 *
 * Mechanisms: RSA-PKCS (0x1). The PIN comes from the command line of a test, never a real one.
 */
import koffi from "koffi";
import { readFileSync, writeFileSync } from "node:fs";

const [modulePath, slotText, pin, keyIdHex, mechanismName, input, output] = process.argv.slice(2);
if (!output) throw new Error("usage: pkcs11-sign <module> <slot> <pin> <keyId> <mechanism> <in> <out>");
const MECHANISMS: Record<string, number> = { "RSA-PKCS": 0x1 };
const mechanismType = MECHANISMS[mechanismName!];
if (mechanismType === undefined) throw new Error(`unknown mechanism ${mechanismName}`);

const lib = koffi.load(modulePath!);
// Linux x86-64: CK_ULONG is unsigned long (8 bytes).
const CK_ATTRIBUTE = koffi.struct("CK_ATTRIBUTE", { type: "ulong", pValue: "void *", ulValueLen: "ulong" });
const CK_MECHANISM = koffi.struct("CK_MECHANISM", {
  mechanism: "ulong",
  pParameter: "void *",
  ulParameterLen: "ulong",
});
const fn = {
  initialize: lib.func("ulong C_Initialize(void *)"),
  finalize: lib.func("ulong C_Finalize(void *)"),
  openSession: lib.func("ulong C_OpenSession(ulong, ulong, void *, void *, _Out_ ulong *)"),
  login: lib.func("ulong C_Login(ulong, ulong, const uint8_t *, ulong)"),
  findInit: lib.func("ulong C_FindObjectsInit(ulong, CK_ATTRIBUTE *, ulong)"),
  find: lib.func("ulong C_FindObjects(ulong, _Out_ ulong *, ulong, _Out_ ulong *)"),
  findFinal: lib.func("ulong C_FindObjectsFinal(ulong)"),
  signInit: lib.func("ulong C_SignInit(ulong, CK_MECHANISM *, ulong)"),
  sign: lib.func("ulong C_Sign(ulong, const uint8_t *, ulong, _Inout_ uint8_t *, _Inout_ ulong *)"),
};
void CK_ATTRIBUTE;
void CK_MECHANISM;

function check(what: string, rv: number | bigint): void {
  if (Number(rv) !== 0) {
    process.stderr.write(`${what} failed: rv = 0x${Number(rv).toString(16)}\n`);
    process.exit(1);
  }
}

check("C_Initialize", fn.initialize(null));
const session = [0];
const CKF_SERIAL_SESSION = 0x4;
check("C_OpenSession", fn.openSession(Number(slotText), CKF_SERIAL_SESSION, null, null, session));
const handle = session[0]!;
const pinBytes = Buffer.from(pin!, "ascii");
check("C_Login", fn.login(handle, 1 /* CKU_USER */, pinBytes, pinBytes.length));

const classValue = Buffer.alloc(8);
classValue.writeBigUInt64LE(3n); // CKO_PRIVATE_KEY
const id = Buffer.from(keyIdHex!, "hex");
const template = [
  { type: 0x0 /* CKA_CLASS */, pValue: classValue, ulValueLen: 8 },
  { type: 0x102 /* CKA_ID */, pValue: id, ulValueLen: id.length },
];
check("C_FindObjectsInit", fn.findInit(handle, template, template.length));
const objects = [0];
const count = [0];
check("C_FindObjects", fn.find(handle, objects, 1, count));
check("C_FindObjectsFinal", fn.findFinal(handle));
if (count[0] !== 1) {
  process.stderr.write(`private key ${keyIdHex} not found\n`);
  process.exit(1);
}
check(
  "C_SignInit",
  fn.signInit(handle, { mechanism: mechanismType, pParameter: null, ulParameterLen: 0 }, objects[0]!),
);
const data = readFileSync(input!);
const signature = Buffer.alloc(256);
const length = [signature.length];
check("C_Sign", fn.sign(handle, data, data.length, signature, length));
writeFileSync(output, signature.subarray(0, length[0]!));
fn.finalize(null);
