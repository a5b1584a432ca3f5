import { type BatchPlan, numBatches } from "./batches.js";
import { SamplerError } from "./errors.js";

export interface Shard {
  /** 0-based shard number. */
  index: number;
  count: number;
  /** Where it came from. */
  from: "flag" | "slurm" | "kubernetes" | "none";
}

/** Parses `--shard i/N` (0 <= i < N). Throws `INVALID_FLAG` naming the flag. */
export function parseShard(value: string, flag = "--shard"): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (m === null) {
    throw new SamplerError("INVALID_FLAG", `expected i/N (e.g. 0/8), got ${JSON.stringify(value)}`, { flag });
  }
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) {
    throw new SamplerError("INVALID_FLAG", `shard ${index}/${count}: need 0 <= i < N`, { flag });
  }
  return { index, count, from: "flag" };
}

/**
 * The shard this process handles: `--shard i/N` when given; else a SLURM job array
 * (`SLURM_ARRAY_TASK_ID` - `SLURM_ARRAY_TASK_MIN` of `SLURM_ARRAY_TASK_COUNT`); else a Kubernetes indexed job
 * (`JOB_COMPLETION_INDEX`, with the count from `numShards`, since Kubernetes does not export it); else 0/1.
 */
export function resolveShard(
  options: { shard?: string; numShards?: number; env?: Readonly<Record<string, string | undefined>> } = {},
): Shard {
  if (options.shard !== undefined) {
    return parseShard(options.shard);
  }
  const env = options.env ?? process.env;
  const int = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === "") {
      return undefined;
    }
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) {
      throw new SamplerError(
        "INVALID_FLAG",
        `environment variable ${name}=${JSON.stringify(v)} is not an integer >= 0`,
        {
          flag: name,
        },
      );
    }
    return n;
  };
  const slurmId = int("SLURM_ARRAY_TASK_ID");
  if (slurmId !== undefined) {
    const count = int("SLURM_ARRAY_TASK_COUNT");
    if (count === undefined || count < 1) {
      throw new SamplerError("INVALID_FLAG", "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not", {
        flag: "SLURM_ARRAY_TASK_COUNT",
      });
    }
    const index = slurmId - (int("SLURM_ARRAY_TASK_MIN") ?? 0);
    if (index < 0 || index >= count) {
      throw new SamplerError("INVALID_FLAG", `SLURM array task ${slurmId} is outside 0..${count - 1} (after MIN)`, {
        flag: "SLURM_ARRAY_TASK_ID",
      });
    }
    return { index, count, from: "slurm" };
  }
  const k8s = int("JOB_COMPLETION_INDEX");
  if (k8s !== undefined) {
    const count = options.numShards;
    if (count === undefined) {
      throw new SamplerError(
        "INVALID_FLAG",
        "JOB_COMPLETION_INDEX is set (Kubernetes indexed job) but the number of shards is unknown: pass --num-shards (the job's completions) or --shard i/N",
        { flag: "--num-shards" },
      );
    }
    if (k8s >= count) {
      throw new SamplerError("INVALID_FLAG", `JOB_COMPLETION_INDEX ${k8s} >= --num-shards ${count}`, {
        flag: "JOB_COMPLETION_INDEX",
      });
    }
    return { index: k8s, count, from: "kubernetes" };
  }
  return { index: 0, count: 1, from: "none" };
}

/**
 * The batches of one shard: batch `b` of the global plan goes to shard `b % count`. Batches partition the examples,
 * so every example lands in exactly one shard, and round-robin over longest-first batches gives every shard a
 * similar mix of long and short sequences.
 */
export function shardPlan(plan: BatchPlan, shard: Pick<Shard, "index" | "count">): BatchPlan {
  if (shard.count === 1) {
    return plan;
  }
  const order: number[] = [];
  const lengths: number[] = [];
  const offsets: number[] = [0];
  for (let b = shard.index; b < numBatches(plan); b += shard.count) {
    for (let k = plan.offsets[b] as number; k < (plan.offsets[b + 1] as number); k++) {
      order.push(plan.order[k] as number);
      if (plan.lengths) {
        lengths.push(plan.lengths[k] as number);
      }
    }
    offsets.push(order.length);
  }
  const out: BatchPlan = { order: Int32Array.from(order), offsets: Int32Array.from(offsets) };
  if (plan.lengths) {
    out.lengths = Int32Array.from(lengths);
  }
  return out;
}
