import { describe, expect, test } from "vitest";
import { escapeHtml, renderHtml, renderHtmlSections } from "./html.ts";
import { emptyReport, golden, sampleReport } from "./test-support.ts";

describe("renderHtml", () => {
  test("sample matches the golden file", () => {
    const out = renderHtml(sampleReport());
    expect(out).toBe(golden("sample.html", out));
  });

  test("empty report matches the golden file and says so", () => {
    const out = renderHtml(emptyReport());
    expect(out).toBe(golden("empty.html", out));
    expect(out).toContain('<p class="clean">No findings in 3 resources.</p>');
  });

  test("is self-contained: no scripts, no external resources", () => {
    const out = renderHtml(sampleReport());
    expect(out).not.toMatch(/<script|<link|<img|src=|href=|@import|url\(/i);
    expect(out).toMatch(/^<!DOCTYPE html>\n<html lang="en">/);
    expect(out).toContain("@media print");
  });

  test("escapes markup and drops control characters from manifests", () => {
    const out = renderHtml(sampleReport());
    // The sample's hostile container name: a<b>&'c ESC[31m BEL.
    expect(out).toContain("container &quot;a&lt;b&gt;&amp;&#39;c[31m&quot; must not set");
    expect(out).not.toContain("\u001b");
    expect(out).not.toContain("\u0007");
  });

  test("counts failing findings per rule, worst severity first", () => {
    const out = renderHtml(sampleReport());
    const rules = out.slice(out.indexOf('<table class="rules">'), out.indexOf('<table class="findings">'));
    const order = [...rules.matchAll(/<code>([a-z-]+)<\/code>/g)].map((m) => m[1]);
    expect(order).toEqual([
      "privileged-container",
      "host-network",
      "wildcard-rbac",
      "run-as-non-root",
      "resource-limits",
      "default-namespace",
    ]);
    // privileged-container: two findings on two resources.
    expect(rules).toMatch(
      /privileged-container<\/code><\/td><td>Privileged container<\/td><td class="n">2<\/td><td class="n">2<\/td>/,
    );
  });

  test("an unreachable cluster section says why", () => {
    const out = renderHtmlSections(
      [
        { name: "prod", server: "https://prod:6443", report: emptyReport() },
        { name: "<lab>", server: "https://lab:6443", error: "connect ECONNREFUSED" },
      ],
      "0.1.0",
    );
    expect(out).toContain("<h2>Cluster &lt;lab&gt;</h2>");
    expect(out).toContain('<p class="unreachable">Not audited: connect ECONNREFUSED</p>');
    expect(out).toContain('<tr><td>prod</td><td>audited</td><td class="n">3</td>');
  });
});

describe("escapeHtml", () => {
  test("escapes the five special characters and drops what HTML forbids", () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
    expect(escapeHtml("a\u0000b\u202ec\ud800d\te\nf")).toBe("abcd\te\nf");
  });
});
