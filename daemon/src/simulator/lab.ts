/**
 * The in-process lab behind `--simulate`: the virtual PC/SC backend with two readers, the default
 * cards (a CPS in slot 0, a Vitale in slot 1), and the controls the daemon's page uses to insert
 * and remove virtual cards. Simulation only: production never builds one.
 */
import "./builtin-profiles.ts";
import { createEmulator, hasProfile, profileNames } from "./profiles.ts";
import { VIRTUAL_READER_NAMES, VirtualPcsc } from "./virtual-pcsc.ts";

/** The cards a simulated daemon starts with, by slot. */
export const DEFAULT_LAB_CARDS = ["cps", "vitale"] as const;

export interface LabSlot {
  readonly slot: number;
  readonly readerId: string;
  readonly card: string | null;
}

export type InsiFaultName = "none" | "delay" | "http500" | "malformed" | "reset";

export class Lab {
  readonly backend = new VirtualPcsc();
  readonly #cards: Array<string | null> = VIRTUAL_READER_NAMES.map(() => null);
  #insiFault: InsiFaultName = "none";
  #onInsiFault: ((fault: InsiFaultName) => void) | null = null;

  get insiFault(): InsiFaultName {
    return this.#insiFault;
  }

  /** The in-process INSi simulator registers here to receive the fault chosen on the page. */
  onInsiFault(listener: (fault: InsiFaultName) => void): void {
    this.#onInsiFault = listener;
  }

  setInsiFault(fault: InsiFaultName): void {
    this.#insiFault = fault;
    this.#onInsiFault?.(fault);
  }

  get slots(): LabSlot[] {
    return VIRTUAL_READER_NAMES.map((readerId, slot) => ({
      slot,
      readerId,
      card: this.#cards[slot] ?? null,
    }));
  }

  get profiles(): string[] {
    return profileNames();
  }

  /** Inserts a new emulator of `profile` in `slot`, replacing the card that was there. */
  async insert(slot: number, profile: string): Promise<void> {
    const readerId = this.#readerId(slot);
    if (!hasProfile(profile))
      throw new RangeError(`unknown card profile "${profile}" (known: ${profileNames().join(", ")})`);
    const emulator = await createEmulator(profile);
    if (this.#cards[slot] !== null) this.remove(slot);
    this.backend.insert(readerId, emulator);
    this.#cards[slot] = profile;
  }

  remove(slot: number): void {
    const readerId = this.#readerId(slot);
    if (this.#cards[slot] === null) return;
    this.backend.remove(readerId);
    this.#cards[slot] = null;
  }

  /** Inserts the default cards whose profiles are available in this build; returns the skipped ones. */
  async insertDefaults(): Promise<string[]> {
    const skipped: string[] = [];
    for (const [slot, profile] of DEFAULT_LAB_CARDS.entries()) {
      if (hasProfile(profile)) await this.insert(slot, profile);
      else skipped.push(profile);
    }
    return skipped;
  }

  #readerId(slot: number): string {
    const readerId = VIRTUAL_READER_NAMES[slot];
    if (readerId === undefined)
      throw new RangeError(`no virtual slot ${slot} (slots: 0 to ${VIRTUAL_READER_NAMES.length - 1})`);
    return readerId;
  }
}
