import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { makeKubeClient, retryDelayMs } from "./client.ts";

describe("retryDelayMs", () => {
  it("uses Retry-After seconds, capped at 10 s", () => {
    expect(retryDelayMs("1", 1)).toBe(1000);
    expect(retryDelayMs("0", 3)).toBe(100);
    expect(retryDelayMs("60", 1)).toBe(10_000);
  });
  it("backs off exponentially without a usable Retry-After", () => {
    expect(retryDelayMs(undefined, 1)).toBe(500);
    expect(retryDelayMs("soon", 2)).toBe(1000);
    expect(retryDelayMs(undefined, 10)).toBe(8000);
  });
});

describe("makeKubeClient", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** A plain-HTTP stand-in for the API server answering from `answers`, in order. */
  async function clientFor(answers: { status: number; retryAfter?: string }[]) {
    const seen: string[] = [];
    server = createServer((request, response) => {
      seen.push(`${request.method} ${request.url}`);
      const answer = answers.shift() ?? { status: 500 };
      response.writeHead(answer.status, {
        "content-type": "application/json",
        ...(answer.retryAfter ? { "retry-after": answer.retryAfter } : {}),
      });
      response.end(JSON.stringify({ kind: "Status", code: answer.status }));
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "c", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: "u" }],
      contexts: [{ name: "ctx", cluster: "c", user: "u" }],
      currentContext: "ctx",
    });
    return { client: makeKubeClient(kc), seen };
  }

  it("retries a 429 after the delay the server asks for, then returns the answer", async () => {
    const { client, seen } = await clientFor([{ status: 429, retryAfter: "0" }, { status: 201 }]);
    const sent = await client.send("POST", "/apis/x/v1/things", { a: 1 });
    client.close();
    expect(sent.ok && sent.value.status).toBe(201);
    expect(seen).toEqual(["POST /apis/x/v1/things", "POST /apis/x/v1/things"]);
  });

  it("gives up after five retries and returns the 429", async () => {
    const { client, seen } = await clientFor(
      Array.from({ length: 7 }, () => ({ status: 429, retryAfter: "0" })),
    );
    const sent = await client.send("GET", "/version");
    client.close();
    expect(sent.ok && sent.value.status).toBe(429);
    expect(seen).toHaveLength(6);
  });
});
