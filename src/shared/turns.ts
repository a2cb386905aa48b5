// Cooperative scheduling for work that shares a thread with live sockets. Locally every object,
// the queue consumer and D1 run on one workerd thread, and on Cloudflare an isolate serves many
// requests at once: a long synchronous stretch delays every socket message queued behind it.

/** Resolves on a later turn of the event loop, after the events already waiting have run. */
export const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Maps `items` with `fn`, starting one item per turn of the event loop. The calls still overlap
 * wherever they wait (remote AI calls all start within a few turns), but one item's synchronous
 * work is all that runs between two turns: the next item's turn is only requested once the
 * previous item has started.
 */
export function staggered<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  let turn = Promise.resolve();
  return Promise.all(
    items.map((item, index) => {
      const mine = turn.then(nextTurn);
      turn = mine;
      return mine.then(() => fn(item, index));
    }),
  );
}
