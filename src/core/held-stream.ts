/**
 * Passes a body's bytes through and calls `release` once, when they are all
 * read or the reader goes away: how work that outlives its request (an
 * event stream, a download) keeps its sandbox busy for exactly as long.
 */
export function releasedWhenDone(body: ReadableStream<Uint8Array> | null, release: () => void): ReadableStream<Uint8Array> | null {
  let released = false;
  const releaseOnce = () => {
    if (released) return;
    released = true;
    release();
  };
  if (!body) {
    releaseOnce();
    return null;
  }
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          releaseOnce();
          controller.close();
        } else {
          controller.enqueue(value);
        }
      } catch (error) {
        releaseOnce();
        controller.error(error);
      }
    },
    async cancel(reason) {
      releaseOnce();
      await reader.cancel(reason);
    },
  });
}
