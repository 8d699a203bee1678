/** One measured scan in a fresh process: prints {ms, maxRssMb, resources, findings} as JSON. */
// The compiled CLI, as users run it (`npm run build` first; bench:scan does).
const compiled: string = "../dist/cli/main.js";
const { main } = (await import(compiled)) as typeof import("../src/cli/main.ts");

const dir = process.argv[2] as string;
let out = "";
const start = performance.now();
const code = await main(["scan", dir, "-o", "json", "--fail-on", "critical"], {
  stdout: { write: (t: string) => (out += t) },
  stderr: process.stderr,
  readStdin: async () => "",
  isTTY: false,
  env: process.env,
  cwd: process.cwd(),
});
const ms = performance.now() - start;
const report = JSON.parse(out) as { summary: { resources: number; findings: number } };
console.log(
  JSON.stringify({
    ms,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    resources: report.summary.resources,
    findings: report.summary.findings,
    exitCode: code,
  }),
);
