import { build } from "tsup";
import config from "../tsup.config.js";

/** The tests run the built command (`node dist/bin.js`): build it from the current sources first. */
export default async function setup(): Promise<void> {
  const options = Array.isArray(config) ? config[0] : config;
  await build({ ...(options as object), silent: true, config: false });
}
