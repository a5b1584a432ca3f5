// Entry of the session worker thread (see runtime.ts).
import { parentPort } from "node:worker_threads";
import { serveRunner } from "./runtime.js";

if (parentPort !== null) {
  serveRunner(parentPort);
}
