/**
 * The report CRDs belay's controller writes to, read from deploy/crds/ (the one copy: the Helm
 * chart's crds/ folder links to it). Edge module: it reads files.
 */
import { readFile } from "node:fs/promises";
import { load } from "js-yaml";
import type { KubeObject } from "../resources/types.ts";

/** The CRD files, in apply order. */
export const CRD_FILES: readonly string[] = [
  "wgpolicyk8s.io_policyreports.yaml",
  "wgpolicyk8s.io_clusterpolicyreports.yaml",
  "openreports.io_reports.yaml",
  "openreports.io_clusterreports.yaml",
];

/**
 * The directory holding the CRD files: deploy/crds at the package root, two levels above this
 * module both in src/install and in dist/install.
 */
export const CRD_DIR = new URL("../../deploy/crds/", import.meta.url);

/** Read and parse the report CRDs. Rejects only when the package is broken (files missing). */
export async function loadReportCrds(): Promise<KubeObject[]> {
  return Promise.all(
    CRD_FILES.map(async (file) => load(await readFile(new URL(file, CRD_DIR), "utf8")) as KubeObject),
  );
}
