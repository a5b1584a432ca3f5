import { type ExtractionSettings, type LayoutName, META_KEYS, openLogitFile } from "@logitpack/codec";
import { type Sink, type SinkFile, type VerifyReport, verifyDataset } from "@logitpack/hub-stream";
import { DATASET_ARG, HUB_READ_FLAGS, openDatasetTarget } from "../internal/dataset-target.js";
import { CliError } from "../internal/errors.js";
import { bool, int } from "../internal/flags.js";
import { formatBytes, formatCount, formatDuration } from "../internal/progress.js";
import type { CommandContext, CommandSpec } from "../internal/spec.js";

export const verify: CommandSpec = {
  name: "verify",
  summary: "check a logits dataset: schema, row contents, counts, duplicates and gaps, metadata, dataset card",
  description:
    "Opens every shard, checks that all share one layout and one set of extraction settings (the logitpack.settings metadata), decodes every row (unless --quick: then only the index column is read), and reports duplicated dataset indices (with the files holding them) and, with --expected-count, the missing ones. Exit code 1 when anything is wrong.",
  positionals: [DATASET_ARG],
  flags: {
    "expected-count": {
      type: "string",
      valueName: "N",
      description: "indices 0..N-1 should all be present: report the missing ones as gaps",
      group: "Checks",
    },
    quick: {
      type: "boolean",
      description: "read only the index column (duplicates, gaps, metadata); do not decode the rows",
      group: "Checks",
    },
    ...HUB_READ_FLAGS,
  },
  examples: ["logitpack verify logits-out", "logitpack verify you/MegaScience-Q3-4B-Logits --quick --json"],
  run: runVerify,
};

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

async function runVerify(ctx: CommandContext): Promise<number> {
  const { out } = ctx;
  const expectedCount = int(ctx.flags, "expected-count", { min: 0 });
  const quick = bool(ctx.flags, "quick");
  const t0 = performance.now();
  const target = await openDatasetTarget(ctx);
  const { sink } = target;
  const files = await sink.list();
  if (files.length === 0) {
    throw new CliError(
      `${target.name}: no Parquet shards under data/ (is it a dataset written by 'logitpack extract'?)`,
    );
  }
  out.info(`Verifying ${target.name}: ${files.length} shard(s)${quick ? " (quick: index column only)" : ""}`);
  const scan = await scanShards(ctx, sink, files, quick);
  // duplicates, gaps, settings across shards
  const report = await verifyDataset({ sink, ...(expectedCount !== undefined ? { expectedCount } : {}) });
  const checks = [
    ...shardChecks(scan, files.length, quick),
    ...indexChecks(report, expectedCount),
    metadataCheck(report.settings, scan),
    cardCheck(await sink.readText("README.md")),
  ];
  const ok = checks.every((c) => c.ok);
  const seconds = (performance.now() - t0) / 1000;
  const result = {
    event: "verify",
    dataset: target.name,
    ok,
    files: files.length,
    rows: report.rows,
    unique: report.unique,
    duplicateRows: report.duplicateRows,
    duplicates: report.duplicates.slice(0, 20),
    missing: report.missing,
    gaps: report.gaps.slice(0, 20),
    positions: quick ? null : scan.positions,
    bytes: scan.bytes,
    settings: report.settings[0] ?? null,
    checks,
    seconds,
  };
  out.data(result, () => {
    const s = out.style;
    const lines = checks.map((c) => `${c.ok ? s.green("✓") : s.red("✗")} ${c.name.padEnd(10)} ${c.detail}`);
    lines.push(
      ok
        ? s.green(`OK: ${report.rows} rows in ${files.length} shard(s), verified in ${formatDuration(seconds)}`)
        : s.red(`FAILED: ${checks.filter((c) => !c.ok).length} check(s) failed`),
    );
    return lines.join("\n");
  });
  return ok ? 0 : 1;
}

interface ShardScan {
  layouts: Map<LayoutName, number>;
  noSettings: number;
  rows: number;
  positions: number;
  bytes: number;
  decodeErrors: string[];
}

/** Schema, layout and per-file settings of every shard; every row decoded unless `quick`. */
async function scanShards(ctx: CommandContext, sink: Sink, files: SinkFile[], quick: boolean): Promise<ShardScan> {
  const scan: ShardScan = { layouts: new Map(), noSettings: 0, rows: 0, positions: 0, bytes: 0, decodeErrors: [] };
  const fail = (path: string, error: unknown) =>
    scan.decodeErrors.push(`${path}: ${(error as Error).message.replace(/^\[codec\] /, "")}`);
  let k = 0;
  for (const file of files) {
    k++;
    ctx.out.status(`verify  shard ${k}/${files.length}  ${file.path}`);
    scan.bytes += file.size;
    let lf: Awaited<ReturnType<typeof openLogitFile>>;
    try {
      lf = await openLogitFile(await sink.source(file), { name: file.path });
    } catch (error) {
      fail(file.path, error);
      continue;
    }
    scan.layouts.set(lf.layout, (scan.layouts.get(lf.layout) ?? 0) + 1);
    if (!(META_KEYS.settings in lf.info.keyValueMetadata)) {
      scan.noSettings++;
    }
    scan.rows += lf.numRows;
    if (!quick) {
      try {
        for await (const b of lf.batches()) {
          scan.positions += (b.rowOffsets[b.numRows] as number) - (b.rowOffsets[0] as number);
        }
      } catch (error) {
        fail(file.path, error);
      }
    }
  }
  ctx.out.clearStatus();
  return scan;
}

function shardChecks(scan: ShardScan, files: number, quick: boolean): Check[] {
  const { decodeErrors, layouts } = scan;
  const checks: Check[] = [
    {
      name: "schema",
      ok: decodeErrors.length === 0 && layouts.size === 1,
      detail:
        decodeErrors.length > 0
          ? `${decodeErrors.length} shard(s) cannot be read: ${decodeErrors[0]}`
          : layouts.size === 1
            ? `layout ${[...layouts.keys()][0]}, ${files} shard(s), ${formatBytes(scan.bytes)}`
            : `mixed layouts: ${[...layouts].map(([l, n]) => `${l} (${n})`).join(", ")}`,
    },
  ];
  if (!quick) {
    checks.push({
      name: "rows",
      ok: decodeErrors.length === 0,
      detail:
        decodeErrors.length === 0
          ? `${scan.rows} rows, ${formatCount(scan.positions)} positions decoded`
          : `${decodeErrors.length} shard(s) with rows that do not decode`,
    });
  }
  return checks;
}

function indexChecks(report: VerifyReport, expectedCount: number | undefined): Check[] {
  const checks: Check[] = [
    {
      name: "duplicates",
      ok: report.duplicateRows === 0,
      detail:
        report.duplicateRows === 0
          ? `${report.unique} distinct dataset indices, none twice`
          : `${report.duplicateRows} duplicated row(s), e.g. index ${report.duplicates[0]?.index} in ${report.duplicates[0]?.files.join(" and ")}`,
    },
  ];
  if (expectedCount !== undefined) {
    const first = report.gaps[0];
    checks.push({
      name: "gaps",
      ok: report.missing === 0,
      detail:
        report.missing === 0
          ? `all ${expectedCount} expected indices present`
          : `${report.missing} of ${expectedCount} missing, first [${first?.[0]}, ${first?.[1]})`,
    });
  }
  return checks;
}

function metadataCheck(settings: ExtractionSettings[], scan: ShardScan): Check {
  return {
    name: "metadata",
    ok: settings.length <= 1 && scan.noSettings === 0,
    detail:
      scan.noSettings > 0
        ? `${scan.noSettings} shard(s) record no extraction settings (logitpack.settings)`
        : settings.length === 1
          ? `one set of extraction settings (model ${String(settings[0]?.model ?? "?")}, mode ${String(settings[0]?.mode ?? [...scan.layouts.keys()][0])})`
          : `${settings.length} different sets of extraction settings: shards of different runs are mixed`,
  };
}

function cardCheck(card: string | undefined): Check {
  return {
    name: "card",
    ok: card?.startsWith("---") === true && card.includes("dataset_info:"),
    detail:
      card === undefined
        ? "no README.md dataset card ('logitpack card' writes one)"
        : card.startsWith("---")
          ? "README.md with dataset_info front matter"
          : "README.md has no YAML front matter ('logitpack card' rewrites it)",
  };
}
