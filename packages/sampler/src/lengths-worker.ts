/** Worker thread of `computeLengths`: builds its own encoder, then measures the row batches it is sent. */
import { parentPort, workerData } from "node:worker_threads";
import type { InputShape } from "@logitpack/chat";
import { buildEncoder, type EncoderSpec, measureRows } from "./measure.js";

interface Init {
  spec: EncoderSpec;
  shape: InputShape;
  invalidRows: "error" | "skip";
}

const port = parentPort;
if (port === null) {
  throw new Error("lengths-worker must run in a worker thread");
}
const { spec, shape, invalidRows } = workerData as Init;
try {
  const encoder = buildEncoder(spec, shape);
  port.postMessage({ type: "ready" });
  port.on("message", (msg: { id: number; start: number; rows: Record<string, unknown>[] }) => {
    try {
      const r = measureRows(encoder, shape, msg.start, msg.rows, invalidRows);
      port.postMessage({ type: "result", id: msg.id, ...r }, [
        r.length.buffer as ArrayBuffer,
        r.extractTokens.buffer as ArrayBuffer,
      ]);
    } catch (error) {
      port.postMessage({ type: "error", id: msg.id, error: serialize(error) });
    }
  });
} catch (error) {
  port.postMessage({ type: "error", id: -1, error: serialize(error) });
}

function serialize(error: unknown): { name: string; message: string; code?: string; row?: number; column?: string } {
  if (error instanceof Error) {
    const e = error as Error & { code?: string; row?: number; column?: string };
    const out: { name: string; message: string; code?: string; row?: number; column?: string } = {
      name: e.name,
      message: e.message,
    };
    if (e.code !== undefined) {
      out.code = e.code;
    }
    if (e.row !== undefined) {
      out.row = e.row;
    }
    if (e.column !== undefined) {
      out.column = e.column;
    }
    return out;
  }
  return { name: "Error", message: String(error) };
}
