/**
 * Bounded concurrency for I/O fan-out (clusters audited at once, SubjectAccessReviews in
 * flight). Pure: no I/O of its own.
 */

/**
 * Run `task` over `items` with at most `limit` running at once; results in input order.
 * Rejects with the first task's rejection (tasks that should not fail the batch return
 * their errors as values).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
