import { hubCacheDir, resolveHubUrl, resolveToken } from "@logitpack/hub-stream";
import { checkProviders, type ProviderReport } from "@logitpack/inference-gpu";
import { choice } from "../internal/flags.js";
import type { CommandContext, CommandSpec } from "../internal/spec.js";
import { VERSION } from "./version.js";

const DEVICES = ["auto", "cuda", "webgpu", "cpu"] as const;

export const doctor: CommandSpec = {
  name: "doctor",
  summary: "check this machine: which ONNX Runtime providers start (and why the others do not), Hub settings",
  description:
    "Runs a one-op test model on each execution provider (CUDA, WebGPU, CPU) the way a teacher session is created, and prints for each whether it started or, in one line, why not and how to fix it; then the provider '--device auto' would get and the Hub settings extract would use (endpoint, cache folder, whether a token is set, offline mode). Exit code 1 when the provider named by --device (default auto: any) does not start.",
  flags: {
    device: {
      type: "string",
      valueName: "DEVICE",
      description: "the provider that must start for exit code 0: auto (any), cuda, webgpu or cpu",
      default: "auto",
      group: "Checks",
    },
  },
  examples: ["logitpack doctor", "logitpack doctor --device cuda   # exit 1 unless CUDA starts"],
  run: runDoctor,
};

async function runDoctor(ctx: CommandContext): Promise<number> {
  const device = choice(ctx.flags, "device", DEVICES) ?? "auto";
  const report = await checkProviders();
  const hub = await hubSettings(ctx.env);
  const ok = device === "auto" ? report.auto !== undefined : report.checks.some((c) => c.provider === device && c.ok);
  const result = {
    event: "doctor",
    ok,
    device,
    logitpack: VERSION,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    onnxruntime: report.onnxruntime,
    auto: report.auto ?? null,
    providers: report.checks,
    hub,
  };
  ctx.out.data(result, () => render(ctx, report, hub, device, ok));
  return ok ? 0 : 1;
}

interface HubSettings {
  endpoint: string;
  cache: string;
  token: "set" | "none" | string;
  offline: boolean;
}

async function hubSettings(env: NodeJS.ProcessEnv): Promise<HubSettings> {
  let token: HubSettings["token"];
  try {
    token = (await resolveToken(undefined, env)) === undefined ? "none" : "set";
  } catch (error) {
    token = `invalid: ${(error as Error).message.replace(/^\[hub-stream\] /, "")}`;
  }
  let endpoint: string;
  try {
    endpoint = resolveHubUrl(undefined, env);
  } catch (error) {
    endpoint = `invalid: ${(error as Error).message.replace(/^\[hub-stream\] /, "")}`;
  }
  const offline = env.HF_HUB_OFFLINE !== undefined && !["", "0", "false"].includes(env.HF_HUB_OFFLINE.toLowerCase());
  return { endpoint, cache: hubCacheDir(env), token, offline };
}

function render(ctx: CommandContext, report: ProviderReport, hub: HubSettings, device: string, ok: boolean): string {
  const s = ctx.out.style;
  const lines = [`logitpack ${VERSION}, Node ${process.version} (${process.platform} ${process.arch})`];
  lines.push(`onnxruntime-node ${report.onnxruntime}`);
  for (const c of report.checks) {
    lines.push(`${c.ok ? s.green("✓") : s.red("✗")} ${c.provider.padEnd(7)} ${c.message}`);
    if (!c.ok && c.hint !== undefined) {
      lines.push(`          fix: ${c.hint}`);
    }
  }
  lines.push(`--device auto uses: ${report.auto ?? "none (no provider starts)"}`);
  const token = hub.token === "none" ? "none (HF_TOKEN, or huggingface-cli login)" : hub.token;
  lines.push(`Hub: ${hub.endpoint}, cache ${hub.cache}, token ${token}, offline ${hub.offline ? "yes" : "no"}`);
  if (!ok) {
    lines.push(s.red(device === "auto" ? "FAILED: no provider starts" : `FAILED: ${device} does not start`));
  }
  return lines.join("\n");
}
