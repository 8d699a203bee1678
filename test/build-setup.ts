/** Vitest global setup for the unit project: compile dist/ so real-process tests run the shipped CLI. */
import { execFileSync } from "node:child_process";

export default function setup(): void {
  execFileSync(new URL("../node_modules/.bin/tsc", import.meta.url).pathname, ["-p", "tsconfig.build.json"], {
    cwd: new URL("..", import.meta.url).pathname,
    stdio: "inherit",
  });
}
