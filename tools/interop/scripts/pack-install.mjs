#!/usr/bin/env node
/**
 * Packs every published package with `pnpm pack` (which rewrites `workspace:^` ranges to real versions), installs all
 * the tarballs with npm into an empty folder, and checks that each one imports (every export of its package.json),
 * contains the type declarations its exports name, ships LICENSE and README.md, and that the `logitpack` binary runs.
 * Needs `pnpm build` first and the npm registry (for third-party dependencies).
 *
 *   node tools/interop/scripts/pack-install.mjs [--keep]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const work = mkdtempSync(join(tmpdir(), "logitpack-pack-"));
const tarballs = join(work, "tarballs");
const app = join(work, "app");
mkdirSync(tarballs);
mkdirSync(app);
const run = (cmd, args, cwd, env = {}) =>
  execFileSync(cmd, args, {
    cwd,
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    env: { ...process.env, ...env },
  });

let failed = 0;
const published = [];
for (const dir of readdirSync(join(root, "packages"))) {
  const pkgDir = join(root, "packages", dir);
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  if (pkg.private) {
    continue;
  }
  run("pnpm", ["pack", "--pack-destination", tarballs], pkgDir);
  published.push(pkg);
}
const files = readdirSync(tarballs).map((f) => join(tarballs, f));
writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
// optional peers too (e.g. apache-arrow for @logitpack/codec/arrow), at the ranges the packages ask for
const peers = new Set();
for (const pkg of published) {
  for (const [name, range] of Object.entries(pkg.peerDependencies ?? {})) {
    if (!name.startsWith("@logitpack/")) {
      peers.add(`${name}@${range}`);
    }
  }
}
run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...files, ...peers], app, {
  ONNXRUNTIME_NODE_INSTALL: "skip",
});
for (const pkg of published) {
  const installed = join(app, "node_modules", ...pkg.name.split("/"));
  for (const f of ["LICENSE", "README.md", "package.json"]) {
    if (!existsSync(join(installed, f))) {
      console.error(`${pkg.name}: ${f} is missing from the package`);
      failed++;
    }
  }
  const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
  for (const [name, range] of Object.entries({ ...manifest.dependencies, ...manifest.peerDependencies })) {
    if (String(range).startsWith("workspace:")) {
      console.error(`${pkg.name}: dependency ${name} is still ${range}`);
      failed++;
    }
  }
  for (const [sub, target] of Object.entries(pkg.exports ?? { ".": {} })) {
    if (sub === "./package.json" || sub.includes("*")) {
      continue;
    }
    // TypeScript users need the declarations each export names
    const types = typeof target === "object" && target !== null ? target.types : undefined;
    if (typeof types === "string" && !existsSync(join(installed, types))) {
      console.error(`FAIL ${pkg.name}: ${sub} names types ${types}, which the package does not contain`);
      failed++;
    }
    const spec = sub === "." ? pkg.name : `${pkg.name}/${sub.slice(2)}`;
    try {
      run(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(spec)})`], app);
      console.log(`ok   import ${spec}`);
    } catch {
      console.error(`FAIL import ${spec}`);
      failed++;
    }
  }
  for (const bin of Object.keys(typeof pkg.bin === "string" ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {}))) {
    try {
      run(join(app, "node_modules", ".bin", bin), ["--help"], app);
      console.log(`ok   ${bin} --help`);
    } catch {
      console.error(`FAIL ${bin} --help`);
      failed++;
    }
  }
}
if (process.argv.includes("--keep")) {
  console.log(`kept ${work}`);
} else {
  rmSync(work, { recursive: true, force: true });
}
if (failed > 0) {
  console.error(`${failed} problem(s)`);
  process.exit(1);
}
console.log(`${published.length} packages packed, installed and imported`);
