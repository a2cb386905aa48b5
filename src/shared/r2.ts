// R2 helpers shared by erasure and the retention purge.

/** Deletes every object under `prefix`, page by page; returns how many were deleted. */
export async function deletePrefix(bucket: R2Bucket, prefix: string): Promise<number> {
  let n = 0;
  for (let cursor: string | undefined; ; ) {
    const listed = await bucket.list({ prefix, cursor });
    if (listed.objects.length) await bucket.delete(listed.objects.map((o) => o.key));
    n += listed.objects.length;
    if (!listed.truncated) return n;
    cursor = listed.cursor;
  }
}
