/**
 * The lab's card profiles by name: `passerelle lab insert --card <name>` and `--simulate` create
 * their emulators here. Each card issue registers its own profile (cps, vitale, …) from its
 * module; this file ships the trivial ones.
 */
import type { CardEmulator } from "./card-emulator.ts";
import { createBlankCard, createEchoCard } from "./echo-card.ts";

export type EmulatorFactory = () => CardEmulator | Promise<CardEmulator>;

const factories = new Map<string, EmulatorFactory>();

/** Registers a profile. Registering the same name twice is a bug and throws. */
export function registerProfile(name: string, factory: EmulatorFactory): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`invalid card profile name: ${name}`);
  if (factories.has(name)) throw new Error(`card profile ${name} is already registered`);
  factories.set(name, factory);
}

export function profileNames(): string[] {
  return [...factories.keys()].sort();
}

export function hasProfile(name: string): boolean {
  return factories.has(name);
}

export async function createEmulator(name: string): Promise<CardEmulator> {
  const factory = factories.get(name);
  if (factory === undefined) {
    throw new Error(`unknown card profile "${name}" (known: ${profileNames().join(", ")})`);
  }
  return factory();
}

registerProfile("echo", createEchoCard);
registerProfile("blank", createBlankCard);
