/**
 * Leader election with a `coordination.k8s.io/v1` Lease, as client-go's leaderelection
 * package does it, so several replicas of a controller are safe:
 *
 * - a candidate reads the Lease every `retryPeriod`; it takes it when nobody holds it, or
 *   when the holder has not renewed for `leaseDuration` — measured on the candidate's own
 *   clock from when it last saw the record change, so clock skew between nodes does not
 *   matter;
 * - the leader renews every `retryPeriod`; when it has not renewed successfully for
 *   `renewDeadline` (< leaseDuration) it stops leading — before any other candidate can
 *   take over;
 * - updates carry the Lease's resourceVersion, so two candidates never both win;
 * - on shutdown the leader releases the Lease (empty holder), so a standby takes over at
 *   once instead of after `leaseDuration`.
 *
 * Defaults as client-go's: lease 15 s, renew deadline 10 s, retry 2 s. Edge module.
 */
import { type KubeClient, statusMessage } from "./client.ts";
import { sleep } from "./watch.ts";

/** Options of {@link createLeaderElector}. */
export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** This candidate's identity (pod name + a random suffix). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Called when this candidate becomes the leader. Must not throw. */
  onStartedLeading: () => void;
  /** Called when it stops being the leader (lost, or released at shutdown). Must not throw. */
  onStoppedLeading: () => void;
  /** Problems talking to the API server (they are retried). Must not throw. */
  onError?: (message: string) => void;
  /** The clock (ms); default Date.now. */
  now?: () => number;
  /**
   * Release the Lease when `run` ends (default true). False leaves it to expire, as after a
   * crash (tests of the takeover use it).
   */
  releaseOnStop?: boolean;
}

/** A running election. */
export interface LeaderElector {
  /** Whether this candidate leads now (it renewed within the renew deadline). */
  isLeader(): boolean;
  /**
   * Take part until `signal` aborts; then release the Lease if leading. Never throws;
   * resolves once released.
   */
  run(signal: AbortSignal): Promise<void>;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string } & Record<string, unknown>;
  spec?: LeaseSpec;
}

/** A Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Create an elector; nothing happens until `run`. Never throws. */
export function createLeaderElector(client: KubeClient, options: LeaderElectionOptions): LeaderElector {
  const leaseDuration = options.leaseDurationMs ?? 15_000;
  const renewDeadline = options.renewDeadlineMs ?? 10_000;
  const retryPeriod = options.retryPeriodMs ?? 2_000;
  const now = options.now ?? Date.now;
  const path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/leases`;
  const named = `${path}/${encodeURIComponent(options.name)}`;

  let leading = false;
  let lastRenew = 0;
  let observedKey = "";
  let observedAt = 0;
  let current: LeaseObject | undefined;

  const isLeader = () => leading && now() - lastRenew < renewDeadline;

  const spec = (previous: LeaseSpec | undefined, at: number): LeaseSpec => {
    const mine = previous?.holderIdentity === options.identity;
    return {
      holderIdentity: options.identity,
      leaseDurationSeconds: Math.ceil(leaseDuration / 1000),
      acquireTime: mine && previous?.acquireTime ? previous.acquireTime : microTime(at),
      renewTime: microTime(at),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (mine || !previous?.holderIdentity ? 0 : 1),
    };
  };

  /** One attempt; true when this candidate holds the Lease afterwards. */
  const tryAcquireOrRenew = async (): Promise<boolean> => {
    const at = now();
    const got = await client.send("GET", named);
    if (!got.ok) {
      options.onError?.(`lease ${options.namespace}/${options.name}: ${got.error.message}`);
      return false;
    }
    if (got.value.status === 404) {
      const created = await client.send("POST", path, {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: options.name, namespace: options.namespace },
        spec: spec(undefined, at),
      });
      if (!created.ok) {
        options.onError?.(`lease ${options.namespace}/${options.name}: ${created.error.message}`);
        return false;
      }
      if (created.value.status === 201 || created.value.status === 200) {
        current = created.value.body as LeaseObject;
        return true;
      }
      if (created.value.status !== 409)
        options.onError?.(
          `cannot create lease ${options.namespace}/${options.name}: ${statusMessage(created.value)}`,
        );
      return false;
    }
    if (got.value.status !== 200) {
      options.onError?.(
        `cannot read lease ${options.namespace}/${options.name}: ${statusMessage(got.value)}`,
      );
      return false;
    }
    const lease = got.value.body as LeaseObject;
    const record = lease.spec ?? {};
    const key = `${record.holderIdentity ?? ""}|${record.renewTime ?? ""}|${record.leaseDurationSeconds ?? ""}`;
    if (key !== observedKey) {
      observedKey = key;
      observedAt = at;
    }
    const heldByOther = (record.holderIdentity ?? "") !== "" && record.holderIdentity !== options.identity;
    const duration = (record.leaseDurationSeconds ?? leaseDuration / 1000) * 1000;
    if (heldByOther && observedAt + duration > at) return false;
    const updated = await client.send("PUT", named, {
      ...lease,
      spec: { ...record, ...spec(record, at) },
    });
    if (!updated.ok) {
      options.onError?.(`lease ${options.namespace}/${options.name}: ${updated.error.message}`);
      return false;
    }
    if (updated.value.status !== 200) {
      // 409: another candidate wrote first; it leads.
      if (updated.value.status !== 409)
        options.onError?.(
          `cannot update lease ${options.namespace}/${options.name}: ${statusMessage(updated.value)}`,
        );
      return false;
    }
    current = updated.value.body as LeaseObject;
    return true;
  };

  /** An attempt bounded in time: a hanging request must not keep a stale leader leading. */
  const attempt = (limitMs: number): Promise<boolean> =>
    Promise.race([
      tryAcquireOrRenew().catch(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), limitMs).unref()),
    ]);

  const release = async () => {
    const lease = current;
    if (!lease?.metadata?.resourceVersion) return;
    const at = now();
    const released = await client.send("PUT", named, {
      ...lease,
      spec: {
        ...lease.spec,
        holderIdentity: "",
        leaseDurationSeconds: 1,
        renewTime: microTime(at),
        acquireTime: microTime(at),
      },
    });
    if (!released.ok) options.onError?.(`cannot release lease: ${released.error.message}`);
    else if (released.value.status !== 200)
      options.onError?.(`cannot release lease: ${statusMessage(released.value)}`);
  };

  const stopLeading = () => {
    if (!leading) return;
    leading = false;
    options.onStoppedLeading();
  };

  return {
    isLeader,
    async run(signal) {
      while (!signal.aborted) {
        if (!leading) {
          if (await attempt(retryPeriod * 5)) {
            if (signal.aborted) break;
            leading = true;
            lastRenew = now();
            options.onStartedLeading();
          } else {
            // client-go's JitterUntil: retryPeriod · [1, 2.2).
            await sleep(retryPeriod * (1 + Math.random() * 1.2), signal);
          }
          continue;
        }
        await sleep(retryPeriod, signal);
        if (signal.aborted) break;
        const remaining = renewDeadline - (now() - lastRenew);
        if (remaining > 0 && (await attempt(remaining))) lastRenew = now();
        else if (now() - lastRenew >= renewDeadline) {
          options.onError?.(
            `lost lease ${options.namespace}/${options.name}: not renewed for ${Math.round(renewDeadline / 1000)}s`,
          );
          stopLeading();
        }
      }
      if (leading) {
        leading = false;
        options.onStoppedLeading();
        if (options.releaseOnStop ?? true) await release();
      }
    },
  };
}
