/**
 * Marks a promise as handled while keeping its rejection for whoever awaits it
 * later: a read that fails while an earlier one is awaited must not crash the
 * process as an unhandled rejection.
 */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
