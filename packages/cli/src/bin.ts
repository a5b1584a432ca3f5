/** The `logitpack` command: runs the CLI on the process's arguments and exits with its code. */
import { installEarlySignals } from "./internal/early-signals.js";

// before anything slow is loaded: a Ctrl+C during start-up must not kill the process before its handlers exist
installEarlySignals();
const { runCli } = await import("./cli.js");
process.exitCode = await runCli(process.argv.slice(2));
