/**
 * Container image references (`[registry[:port]/]repository[:tag][@digest]`), split the way
 * the container runtimes do, for the image tag and digest rules.
 */

/** The parts of an image reference that the image rules look at. */
export interface ImageRef {
  /** Registry and repository, e.g. `registry.example.com:5000/team/app`. */
  repository: string;
  /** The tag, when one is written (`1.27`), otherwise undefined. */
  tag?: string;
  /** The digest, when a well-formed one is written (`sha256:…`), otherwise undefined. */
  digest?: string;
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;

/**
 * Split an image reference. A port in the registry (`host:5000/app`) is not a tag; a digest
 * that is not `algorithm:hex` (at least 32 hex digits) does not count as one. Returns
 * undefined for a non-string or empty image. Never throws.
 */
export function parseImageRef(image: unknown): ImageRef | undefined {
  if (typeof image !== "string" || image.trim() === "") return undefined;
  const at = image.indexOf("@");
  const namePart = at < 0 ? image : image.slice(0, at);
  const digestPart = at < 0 ? undefined : image.slice(at + 1);
  const lastSlash = namePart.lastIndexOf("/");
  const colon = namePart.indexOf(":", lastSlash + 1);
  const ref: ImageRef = { repository: colon < 0 ? namePart : namePart.slice(0, colon) };
  const tag = colon < 0 ? "" : namePart.slice(colon + 1);
  if (tag !== "") ref.tag = tag;
  if (digestPart !== undefined && DIGEST.test(digestPart)) ref.digest = digestPart;
  return ref;
}

/**
 * Whether the reference resolves to whatever `latest` points to at pull time: tag `latest`
 * or no tag at all, and no digest.
 */
export function isMutableLatest(ref: ImageRef): boolean {
  return ref.digest === undefined && (ref.tag === undefined || ref.tag === "latest");
}
