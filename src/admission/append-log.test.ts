import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { AppendLog } from "./append-log.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const scratch = () => {
  const d = mkdtempSync(join(tmpdir(), "belay-append-"));
  dirs.push(d);
  return d;
};

describe("AppendLog", () => {
  it("appends whole lines after what the file already holds, and drops writes once closed", () => {
    const file = join(scratch(), "d.log");
    writeFileSync(file, "earlier\n");
    const errors: string[] = [];
    const log = new AppendLog(file, (m) => errors.push(m));
    expect(log.write('{"a":1}\n')).toBe(true);
    expect(log.write(`{"b":"${"é".repeat(5000)}"}\n`)).toBe(true);
    log.close();
    log.close();
    expect(log.write("after close\n")).toBe(false);
    expect(readFileSync(file, "utf8")).toBe(`earlier\n{"a":1}\n{"b":"${"é".repeat(5000)}"}\n`);
    expect(errors).toEqual([]);
  });

  it("throws the open error for a path it cannot open", () => {
    expect(() => new AppendLog("/nonexistent-dir/d.log", () => {})).toThrow(
      "ENOENT: no such file or directory, open '/nonexistent-dir/d.log'",
    );
  });

  it("reports failing writes once and never throws", () => {
    // /dev/full accepts the open and fails every write with ENOSPC.
    const errors: string[] = [];
    const log = new AppendLog("/dev/full", (m) => errors.push(m));
    expect(log.write("one\n")).toBe(false);
    expect(log.write("two\n")).toBe(false);
    expect(errors).toEqual(["cannot write to /dev/full: ENOSPC: no space left on device, write"]);
    log.close();
  });
});
