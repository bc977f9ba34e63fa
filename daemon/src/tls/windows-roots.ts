/**
 * The Windows Root certificate stores, through crypt32.dll (koffi): `user` is CurrentUser\Root
 * (adding to it makes Windows ask the user to confirm, in a dialog of its own), `machine` is
 * LocalMachine\Root (administrator only, no dialog, trusted by every user of the machine).
 * trust-store.ts uses this on Windows rather than certutil.exe: the outcome is a return value, not
 * text to parse, and it runs under wine (whose certutil.exe is a stub that does nothing and exits
 * 0), so the installers' trust step is tested there: the user's store, which wine keeps in its
 * registry (HKCU\Software\Microsoft\SystemCertificates\Root\Certificates\<SHA-1>) as Windows
 * does. Not the machine's: wine answers LocalMachine\Root with its own list of the host's CAs.
 * Not run on a real Windows either: whether Windows asks the user to confirm an addition made
 * through the registry provider as it does through the system provider is documented, not seen.
 * Constants: wincrypt.h (Windows SDK), the same numbers in wine's include/wincrypt.h.
 */
import koffi from "koffi";

export type WindowsRootStore = "user" | "machine";

/** The registry store alone, without the system store's other physical stores. */
const CERT_STORE_PROV_SYSTEM_REGISTRY_W = 13;
const CERT_STORE_CTRL_COMMIT = 4;
const CERT_CLOSE_STORE_FORCE_FLAG = 1;
const CERT_SYSTEM_STORE_CURRENT_USER = 1 << 16;
const CERT_SYSTEM_STORE_LOCAL_MACHINE = 2 << 16;
const CERT_STORE_READONLY_FLAG = 0x8000;
const X509_ASN_ENCODING = 1;
const CERT_STORE_ADD_REPLACE_EXISTING = 3;
const CERT_FIND_SHA1_HASH = 1 << 16;
/** CERT_COMPARE_NAME_STR_W << 16 | CERT_INFO_SUBJECT_FLAG: the subject contains the string. */
const CERT_FIND_SUBJECT_STR_W = (8 << 16) | 7;
const CERT_SHA1_HASH_PROP_ID = 3;
const ERROR_CANCELLED = 1223;

type Pointer = unknown;

interface Crypt32 {
  open(provider: number, encoding: number, prov: number, flags: number, name: string): Pointer;
  close(store: Pointer, flags: number): number;
  control(store: Pointer, flags: number, control: number, para: null): number;
  add(store: Pointer, encoding: number, der: Uint8Array, length: number, how: number, out: null): number;
  findBySubject(
    store: Pointer,
    encoding: number,
    flags: number,
    type: number,
    name: string,
    previous: Pointer,
  ): Pointer;
  findByHash(
    store: Pointer,
    encoding: number,
    flags: number,
    type: number,
    hash: { cbData: number; pbData: Uint8Array },
    previous: Pointer,
  ): Pointer;
  property(context: Pointer, id: number, data: Uint8Array, length: number[]): number;
  free(context: Pointer): number;
  remove(context: Pointer): number;
  lastError(): number;
}

let crypt32: Crypt32 | undefined;

function library(): Crypt32 {
  if (crypt32) return crypt32;
  const lib = koffi.load("crypt32.dll");
  const kernel32 = koffi.load("kernel32.dll");
  const blob = koffi.struct("PASSERELLE_CRYPT_HASH_BLOB", { cbData: "uint32_t", pbData: "uint8_t *" });
  crypt32 = {
    open: lib.func("CertOpenStore", "void *", [
      "intptr_t",
      "uint32_t",
      "intptr_t",
      "uint32_t",
      "const char16_t *",
    ]),
    close: lib.func("CertCloseStore", "int", ["void *", "uint32_t"]),
    control: lib.func("CertControlStore", "int", ["void *", "uint32_t", "uint32_t", "void *"]),
    add: lib.func("CertAddEncodedCertificateToStore", "int", [
      "void *",
      "uint32_t",
      "const uint8_t *",
      "uint32_t",
      "uint32_t",
      "void *",
    ]),
    findBySubject: lib.func("CertFindCertificateInStore", "void *", [
      "void *",
      "uint32_t",
      "uint32_t",
      "uint32_t",
      "const char16_t *",
      "void *",
    ]),
    findByHash: lib.func("CertFindCertificateInStore", "void *", [
      "void *",
      "uint32_t",
      "uint32_t",
      "uint32_t",
      koffi.pointer(blob),
      "void *",
    ]),
    property: lib.func("CertGetCertificateContextProperty", "int", [
      "void *",
      "uint32_t",
      koffi.out("uint8_t *"),
      koffi.inout(koffi.pointer("uint32_t")),
    ]),
    free: lib.func("CertFreeCertificateContext", "int", ["void *"]),
    remove: lib.func("CertDeleteCertificateFromStore", "int", ["void *"]),
    lastError: kernel32.func("GetLastError", "uint32_t", []),
  } as unknown as Crypt32;
  return crypt32;
}

function failure(what: string, lib: Crypt32): Error {
  const code = lib.lastError();
  const why = code === ERROR_CANCELLED ? "the user said no" : `Windows error ${code}`;
  return new Error(`${what}: ${why}`);
}

export interface WindowsRoots {
  /** SHA-1 thumbprints (upper-case hex) of the certificates whose subject contains `name`. */
  find(name: string): string[];
  /** Adds (or replaces) the DER certificate; throws when Windows refuses (the user said no…). */
  add(der: Uint8Array): void;
  /** Removes the certificate with this SHA-1 thumbprint; false when it was not there. */
  remove(sha1: string): boolean;
  close(): void;
}

/** Opens the Root store of the user or of the machine (`readOnly` for status). */
export function openWindowsRoots(where: WindowsRootStore, readOnly = false): WindowsRoots {
  const lib = library();
  const flags =
    (where === "machine" ? CERT_SYSTEM_STORE_LOCAL_MACHINE : CERT_SYSTEM_STORE_CURRENT_USER) |
    (readOnly ? CERT_STORE_READONLY_FLAG : 0);
  // The registry store of each (HKCU or HKLM\Software\Microsoft\SystemCertificates\Root, where
  // `certutil [-user] -addstore Root` puts a certificate), not the system store, which also lists
  // the machine's, Group Policy and enterprise stores: what is added, found and removed is ours.
  const provider = CERT_STORE_PROV_SYSTEM_REGISTRY_W;
  const store = lib.open(provider, 0, 0, flags, "Root");
  if (!store) throw failure(`CertOpenStore(${where} Root)`, lib);
  let closed = false;
  return {
    find(name) {
      const found: string[] = [];
      let context: Pointer = null;
      for (;;) {
        context = lib.findBySubject(store, X509_ASN_ENCODING, 0, CERT_FIND_SUBJECT_STR_W, name, context);
        if (!context) break;
        const hash = new Uint8Array(20);
        const length = [hash.length];
        if (lib.property(context, CERT_SHA1_HASH_PROP_ID, hash, length))
          found.push(Buffer.from(hash.subarray(0, length[0])).toString("hex").toUpperCase());
      }
      return found;
    },
    add(der) {
      if (!lib.add(store, X509_ASN_ENCODING, der, der.length, CERT_STORE_ADD_REPLACE_EXISTING, null))
        throw failure("CertAddEncodedCertificateToStore", lib);
    },
    remove(sha1) {
      const hash = Buffer.from(sha1, "hex");
      const context = lib.findByHash(
        store,
        X509_ASN_ENCODING,
        0,
        CERT_FIND_SHA1_HASH,
        { cbData: hash.length, pbData: hash },
        null,
      );
      if (!context) return false;
      // CertDeleteCertificateFromStore frees the context, whatever it returns.
      if (!lib.remove(context)) throw failure("CertDeleteCertificateFromStore", lib);
      return true;
    },
    close() {
      if (closed) return;
      closed = true;
      // Written out now (wine's registry stores flush on commit or on the last reference going).
      if (!readOnly) lib.control(store, 0, CERT_STORE_CTRL_COMMIT, null);
      lib.close(store, CERT_CLOSE_STORE_FORCE_FLAG);
    },
  };
}
