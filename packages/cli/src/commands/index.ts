/**
 * The command table: every command and flag is declared once here (through each command's module); parsing, the
 * usage errors and every `--help` text are generated from it.
 */
import type { CommandSpec } from "../internal/spec.js";
import { card } from "./card.js";
import { doctor } from "./doctor.js";
import { explore, exploreAlign, exploreInfo, exploreReport, exploreSample, exploreStats } from "./explore.js";
import { extract } from "./extract.js";
import { lengths } from "./lengths.js";
import { verify } from "./verify.js";

export { VERSION } from "./version.js";

export const COMMANDS: readonly CommandSpec[] = [
  extract,
  lengths,
  verify,
  explore,
  exploreInfo,
  exploreSample,
  exploreStats,
  exploreAlign,
  exploreReport,
  card,
  doctor,
];

export function findCommand(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** `explore info`, `explore sample`, ... for `explore`. */
export function subcommandsOf(name: string): CommandSpec[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${name} `));
}
