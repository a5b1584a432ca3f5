import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { generatedFile, generatedSha256, type HubServer, startHubServer } from "../src/index.js";

let server: HubServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("seeded model repos and generated files", () => {
  it("serves seeded files as a model repo: tree, LFS headers, ranges of a generated file, a dropped connection", async () => {
    server = await startHubServer();
    const gen = generatedFile(3 * 2 ** 20 + 17, 4);
    const whole = new Uint8Array(gen.size);
    gen.fill(0, whole);
    // The generator is deterministic and slices agree with the whole.
    const part = new Uint8Array(100);
    gen.fill(2 ** 20 - 50, part);
    expect(Buffer.compare(part, whole.subarray(2 ** 20 - 50, 2 ** 20 + 50))).toBe(0);
    const sha = createHash("sha256").update(whole).digest("hex");
    expect(await generatedSha256(gen)).toBe(sha);
    const commit = await server.seed("org/m", { "config.json": "{}", "onnx/model.onnx_data": gen });
    const tree = (await fetch(`${server.url}/api/models/org/m/tree/main?recursive=true`).then((r) => r.json())) as {
      path: string;
      lfs?: { oid: string; size: number };
    }[];
    expect(tree.find((e) => e.path === "onnx/model.onnx_data")?.lfs).toMatchObject({ oid: sha, size: gen.size });
    const url = `${server.url}/org/m/resolve/main/onnx/model.onnx_data`;
    const head = await fetch(url, { method: "HEAD" });
    expect(head.headers.get("x-linked-etag")).toBe(`"${sha}"`);
    expect(head.headers.get("x-linked-size")).toBe(String(gen.size));
    expect(head.headers.get("x-repo-commit")).toBe(commit);
    const range = await fetch(url, { headers: { Range: "bytes=3000000-" } });
    expect(range.status).toBe(206);
    expect(range.headers.get("content-range")).toBe(`bytes 3000000-${gen.size - 1}/${gen.size}`);
    expect(Buffer.compare(new Uint8Array(await range.arrayBuffer()), whole.subarray(3000000))).toBe(0);
    server.faults = [{ routes: ["resolve"], action: { dropAfterBytes: 2 ** 20 }, times: 1 }];
    const cut = await fetch(url);
    expect(cut.status).toBe(200);
    expect(cut.headers.get("content-length")).toBe(String(gen.size));
    await expect(cut.arrayBuffer()).rejects.toThrow();
    expect(server.log.at(-1)?.fault).toBe("drop after 1048576 bytes");
    const again = await fetch(url);
    expect(
      createHash("sha256")
        .update(new Uint8Array(await again.arrayBuffer()))
        .digest("hex"),
    ).toBe(sha);
  });
});
