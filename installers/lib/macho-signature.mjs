// Who built a macOS Node binary, judged from the binary itself rather than from the npm package that
// carried it: the Apple code signature of a Mach-O 64-bit file, checked on Linux.
//
// 1. The CodeDirectory (the signature's slot 0, SHA-256) holds one hash per 4 KiB page of the file
//    up to the signature: every page is hashed again here, and the requirements and entitlements
//    blobs against their special slots. So the file is, byte for byte, what was signed.
// 2. The CMS signature over that CodeDirectory is checked by `openssl cms -verify`, up to Apple's
//    root certificate, pinned here by its SHA-256 (the CMS carries its own copy: only a copy with
//    that fingerprint is used as the anchor).
// 3. The signer must be a "Developer ID Application" certificate of the expected Apple team (the
//    OpenJS Foundation's is HX7739G8FX, "Node.js Foundation"), and the CodeDirectory's team the same.
//
// Certificate dates are not checked (-no_check_time): a release signed while its certificate was
// valid stays verifiable after that certificate expires. openssl must ignore Apple's critical
// Developer ID extension (-ignore_critical), which it does not know.
import { execFileSync } from "node:child_process";
import { X509Certificate, createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** SHA-256 of "Apple Root CA" (Apple Inc., 2006–2035), https://www.apple.com/certificateauthority/ */
export const APPLE_ROOT_CA_SHA256 =
  "B0:B1:73:0E:CB:C7:FF:45:05:14:2C:49:F1:29:5E:6E:DA:6B:CA:ED:7E:2C:68:C5:BE:91:B5:A1:10:01:F0:24";
/** The OpenJS Foundation's Apple team, which signs the official macOS Node binaries. */
export const NODE_TEAM = "HX7739G8FX";

const MH_MAGIC_64 = 0xfeedfacf;
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSMAGIC_BLOBWRAPPER = 0xfade0b01;
const CS_HASHTYPE_SHA256 = 2;
/** Special slots checked against their blobs: requirements, entitlements, DER entitlements. */
const SPECIAL_SLOTS = [2, 5, 7];
export const CPU_TYPES = { 0x01000007: "x86_64", 0x0100000c: "arm64" };

/** The Mach-O 64-bit header, segments and code signature location of a file's bytes. */
export function machoLayout(bytes) {
  if (bytes.length < 32 || bytes.readUInt32LE(0) !== MH_MAGIC_64)
    throw new Error("not a little-endian Mach-O 64-bit file");
  const cpu = CPU_TYPES[bytes.readUInt32LE(4)] ?? `cputype 0x${bytes.readUInt32LE(4).toString(16)}`;
  const ncmds = bytes.readUInt32LE(16);
  const segments = [];
  let signature = null;
  let at = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = bytes.readUInt32LE(at);
    const size = bytes.readUInt32LE(at + 4);
    if (cmd === LC_SEGMENT_64) {
      const name = bytes
        .subarray(at + 8, at + 24)
        .toString("latin1")
        .replace(/\0+$/, "");
      const sections = [];
      const nsects = bytes.readUInt32LE(at + 64);
      for (let s = 0; s < nsects; s++) {
        const section = at + 72 + s * 80;
        sections.push(
          bytes
            .subarray(section, section + 16)
            .toString("latin1")
            .replace(/\0+$/, ""),
        );
      }
      segments.push({
        name,
        fileoff: Number(bytes.readBigUInt64LE(at + 40)),
        filesize: Number(bytes.readBigUInt64LE(at + 48)),
        sections,
      });
    }
    if (cmd === LC_CODE_SIGNATURE)
      signature = { offset: bytes.readUInt32LE(at + 8), size: bytes.readUInt32LE(at + 12) };
    at += size;
  }
  return { cpu, segments, signature };
}

function nulString(buffer, offset) {
  return buffer.subarray(offset, buffer.indexOf(0, offset)).toString("latin1");
}

/** The blobs of an embedded signature, by slot type. */
function signatureBlobs(bytes, signature) {
  const blob = bytes.subarray(signature.offset, signature.offset + signature.size);
  if (blob.length < 12 || blob.readUInt32BE(0) !== CSMAGIC_EMBEDDED_SIGNATURE)
    throw new Error("the code signature is not an embedded signature SuperBlob");
  const blobs = new Map();
  for (let i = 0; i < blob.readUInt32BE(8); i++) {
    const type = blob.readUInt32BE(12 + 8 * i);
    const offset = blob.readUInt32BE(16 + 8 * i);
    blobs.set(type, blob.subarray(offset, offset + blob.readUInt32BE(offset + 4)));
  }
  return blobs;
}

/** Checks the CodeDirectory against the file; returns its identifier and team. */
function checkCodeDirectory(bytes, blobs) {
  const cd = blobs.get(0);
  if (!cd || cd.readUInt32BE(0) !== CSMAGIC_CODEDIRECTORY) throw new Error("no CodeDirectory in slot 0");
  const version = cd.readUInt32BE(8);
  const hashOffset = cd.readUInt32BE(16);
  const identOffset = cd.readUInt32BE(20);
  const nSpecialSlots = cd.readUInt32BE(24);
  const nCodeSlots = cd.readUInt32BE(28);
  const codeLimit = cd.readUInt32BE(32);
  const hashSize = cd.readUInt8(36);
  const hashType = cd.readUInt8(37);
  const pageSize = 2 ** cd.readUInt8(39);
  if (hashType !== CS_HASHTYPE_SHA256 || hashSize !== 32)
    throw new Error(`CodeDirectory hash type ${hashType}: only SHA-256 is checked`);
  if (version < 0x20200) throw new Error(`CodeDirectory version 0x${version.toString(16)} has no team`);
  if (codeLimit > bytes.length || nCodeSlots !== Math.ceil(codeLimit / pageSize))
    throw new Error("CodeDirectory does not cover this file");
  const sha256 = (data) => createHash("sha256").update(data).digest();
  for (let page = 0; page < nCodeSlots; page++) {
    const expected = cd.subarray(hashOffset + page * 32, hashOffset + (page + 1) * 32);
    const data = bytes.subarray(page * pageSize, Math.min((page + 1) * pageSize, codeLimit));
    if (!sha256(data).equals(expected))
      throw new Error(`page ${page} (offset ${page * pageSize}) differs from what was signed`);
  }
  for (const slot of SPECIAL_SLOTS) {
    const blob = blobs.get(slot);
    if (!blob || slot > nSpecialSlots) continue;
    const expected = cd.subarray(hashOffset - slot * 32, hashOffset - (slot - 1) * 32);
    if (!sha256(blob).equals(expected)) throw new Error(`special slot ${slot} differs from what was signed`);
  }
  const teamOffset = cd.readUInt32BE(48);
  return {
    codeDirectory: cd,
    identifier: nulString(cd, identOffset),
    team: teamOffset ? nulString(cd, teamOffset) : null,
    pages: nCodeSlots,
  };
}

function openssl(args) {
  try {
    return execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    if (error.code === "ENOENT")
      throw new Error("openssl not found (Debian: apt-get install openssl)", { cause: error });
    throw new Error(`openssl ${args[0]}: ${(error.stderr ?? error.message).trim().split("\n").at(-1)}`, {
      cause: error,
    });
  }
}

/**
 * Throws unless `file` is a Mach-O signed by a Developer ID Application certificate of `team`, over
 * exactly these bytes. Returns what was found (for the build log and the tests).
 */
export function verifyDeveloperIdSignature(file, { team = NODE_TEAM } = {}) {
  const bytes = readFileSync(file);
  const layout = machoLayout(bytes);
  if (!layout.signature) throw new Error(`${file}: no code signature`);
  const blobs = signatureBlobs(bytes, layout.signature);
  const directory = checkCodeDirectory(bytes, blobs);
  if (directory.team !== team)
    throw new Error(`${file}: signed for team ${directory.team}, expected ${team}`);
  const cms = blobs.get(0x10000);
  if (!cms || cms.readUInt32BE(0) !== CSMAGIC_BLOBWRAPPER) throw new Error(`${file}: no CMS signature`);

  const work = mkdtempSync(path.join(tmpdir(), "passerelle-macho-"));
  try {
    const cmsFile = path.join(work, "signature.der");
    const cdFile = path.join(work, "code-directory");
    writeFileSync(cmsFile, cms.subarray(8));
    writeFileSync(cdFile, directory.codeDirectory);
    const certificates = openssl(["pkcs7", "-inform", "DER", "-in", cmsFile, "-print_certs"])
      .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)
      ?.map((pem) => new X509Certificate(pem));
    const root = certificates?.find((certificate) => certificate.fingerprint256 === APPLE_ROOT_CA_SHA256);
    if (!root) throw new Error(`${file}: the signature does not chain to Apple Root CA`);
    const rootFile = path.join(work, "apple-root.pem");
    const signerFile = path.join(work, "signer.pem");
    writeFileSync(rootFile, root.toString());
    openssl([
      "cms",
      "-verify",
      "-binary",
      "-inform",
      "DER",
      "-in",
      cmsFile,
      "-content",
      cdFile,
      "-CAfile",
      rootFile,
      "-purpose",
      "any",
      "-ignore_critical",
      "-no_check_time",
      "-signer",
      signerFile,
      "-out",
      path.join(work, "verified"),
    ]);
    const signer = new X509Certificate(readFileSync(signerFile));
    const subject = signer.subject.split("\n");
    if (
      !subject.includes(`OU=${team}`) ||
      !subject.some((line) => line.startsWith("CN=Developer ID Application: "))
    )
      throw new Error(
        `${file}: signed by ${signer.subject.replaceAll("\n", ", ")}, not team ${team}'s Developer ID`,
      );
    return {
      cpu: layout.cpu,
      identifier: directory.identifier,
      team: directory.team,
      signer: subject.find((line) => line.startsWith("CN="))?.slice(3),
      pages: directory.pages,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
