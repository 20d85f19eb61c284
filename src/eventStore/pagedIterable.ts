/**
 * An AsyncIterable over pages fetched synchronously (better-sqlite3): it serves each page from an array, so
 * a full pass over a million events costs one resolved promise per event rather than an async generator's
 * resumption, which is most of the time a twin rebuild spends outside JSON.parse.
 * `fetchPage` returns the next page, or undefined when there is nothing more; a page shorter than the one
 * before is not taken as the end (filters, maxCount), only `undefined` or an empty page is.
 */
export function pagedIterable<T>(fetchPage: () => T[] | undefined): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      let page: T[] = [];
      let index = 0;
      let finished = false;
      const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
      return {
        next(): Promise<IteratorResult<T>> {
          if (index >= page.length && !finished) {
            try {
              const next = fetchPage();
              page = next ?? [];
            } catch (error) {
              finished = true;
              return Promise.reject(error);
            }
            index = 0;
            if (page.length === 0) finished = true;
          }
          if (index < page.length) return Promise.resolve({ done: false, value: page[index++]! });
          return Promise.resolve(done);
        },
        return(): Promise<IteratorResult<T>> {
          finished = true;
          page = [];
          return Promise.resolve(done);
        },
      };
    },
  };
}
