/**
 * Per-OS PC/SC ABI, in one place: which library, which integer widths, which struct packing,
 * which symbol names. Everything else in the binding reads these values and never tests the OS.
 *
 *            | DWORD / LONG            | SCARDCONTEXT / SCARDHANDLE | rgbAtr | packing | strings
 *  Linux     | unsigned long / long    | long (pcsc-lite: LONG)     | 33     | natural | UTF-8
 *  Windows   | uint32 / int32          | ULONG_PTR                  | 36     | natural | UTF-16 (…W)
 *  macOS     | uint32_t / int32_t      | int32_t                    | 33     | pack(1) | UTF-8
 *
 * Sources: pcsc-lite `wintypes.h` / `pcsclite.h.in` (LP64: `unsigned long` is 8 bytes), Microsoft
 * `winscard.h` / `WinSmCrd.h` (SCARD_READERSTATEW, `rgbAtr[36]`, SCARD_CTL_CODE), Apple's PCSC
 * framework headers (`#pragma pack(1)`, `uint32_t` DWORD, `int32_t` handles).
 */
import koffi, { type TypeObject } from "koffi";

export type PcscPlatform = "linux" | "win32" | "darwin";

export interface PcscLayout {
  readonly platform: PcscPlatform;
  /** What koffi.load opens. */
  readonly library: string;
  /** koffi type names for DWORD, LONG and the context/card handles. */
  readonly dword: string;
  readonly long: string;
  readonly handle: string;
  /** Size of SCARD_READERSTATE.rgbAtr. */
  readonly atrBufferSize: number;
  /** Structs packed without padding (macOS). */
  readonly packed: boolean;
  /** Strings are UTF-16 (Windows W functions) instead of UTF-8. */
  readonly wide: boolean;
  /** Calling convention for koffi (stdcall on 32-bit Windows; ignored on 64-bit). */
  readonly convention: "" | "__stdcall";
  /** Exported symbol for each PC/SC function whose name varies. */
  readonly symbols: Readonly<
    Record<"listReaders" | "getStatusChange" | "connect" | "status" | "control", string>
  >;
  readonly protocolRaw: number;
}

export const LAYOUTS: Readonly<Record<PcscPlatform, PcscLayout>> = {
  linux: {
    platform: "linux",
    library: "libpcsclite.so.1",
    dword: "unsigned long",
    long: "long",
    handle: "long",
    atrBufferSize: 33,
    packed: false,
    wide: false,
    convention: "",
    symbols: {
      listReaders: "SCardListReaders",
      getStatusChange: "SCardGetStatusChange",
      connect: "SCardConnect",
      status: "SCardStatus",
      control: "SCardControl",
    },
    protocolRaw: 0x4,
  },
  win32: {
    platform: "win32",
    library: "winscard.dll",
    dword: "uint32_t",
    long: "int32_t",
    handle: "uintptr_t",
    atrBufferSize: 36,
    packed: false,
    wide: true,
    convention: "__stdcall",
    symbols: {
      listReaders: "SCardListReadersW",
      getStatusChange: "SCardGetStatusChangeW",
      connect: "SCardConnectW",
      status: "SCardStatusW",
      control: "SCardControl",
    },
    protocolRaw: 0x10000,
  },
  darwin: {
    platform: "darwin",
    library: "/System/Library/Frameworks/PCSC.framework/PCSC",
    dword: "uint32_t",
    long: "int32_t",
    handle: "int32_t",
    atrBufferSize: 33,
    packed: true,
    wide: false,
    convention: "",
    symbols: {
      listReaders: "SCardListReaders",
      getStatusChange: "SCardGetStatusChange",
      connect: "SCardConnect",
      status: "SCardStatus",
      // The framework exports the PC/SC v2 control call as SCardControl132 (UNVERIFIED on recent
      // macOS: the binding falls back to SCardControl when the symbol is missing).
      control: "SCardControl132",
    },
    protocolRaw: 0x4,
  },
};

export function layoutFor(platform: string = process.platform): PcscLayout {
  if (platform === "linux" || platform === "win32" || platform === "darwin") return LAYOUTS[platform];
  // The BSDs ship pcsc-lite with the same ABI as Linux.
  return { ...LAYOUTS.linux, platform: "linux" };
}

/**
 * SCARD_CTL_CODE: pcsc-lite and macOS use 0x42000000 + code; Windows uses
 * CTL_CODE(FILE_DEVICE_SMARTCARD = 0x31, code, METHOD_BUFFERED, FILE_ANY_ACCESS).
 * CM_IOCTL_GET_FEATURE_REQUEST (PC/SC part 10) is scardCtlCode(3400).
 */
export function scardCtlCode(code: number, platform: PcscPlatform = layoutFor().platform): number {
  return platform === "win32" ? ((0x31 << 16) | (code << 2)) >>> 0 : (0x42000000 + code) >>> 0;
}

export const CM_IOCTL_GET_FEATURE_REQUEST_FUNCTION = 3400;

export interface PcscTypes {
  readonly readerState: TypeObject;
  readonly ioRequest: TypeObject;
}

/** The two structs the binding passes, built for `layout` (anonymous: several layouts may coexist). */
export function structsFor(layout: PcscLayout): PcscTypes {
  const define = layout.packed ? koffi.pack : koffi.struct;
  const readerState = define({
    szReader: layout.wide ? "const char16_t *" : "const char *",
    pvUserData: "void *",
    dwCurrentState: layout.dword,
    dwEventState: layout.dword,
    cbAtr: layout.dword,
    rgbAtr: koffi.array("uint8_t", layout.atrBufferSize, "Typed"),
  });
  const ioRequest = define({ dwProtocol: layout.dword, cbPciLength: layout.dword });
  return { readerState, ioRequest };
}
