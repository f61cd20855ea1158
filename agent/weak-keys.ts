// Cache keys held by identity without keeping their objects alive. A cache of something made from a snapshot
// (the status JSON, the status page, the counter read plan) that held the snapshot itself would keep the previous
// scan's whole snapshot, view and checks alive until the next request of that kind: on 8 x 128 VFs a second copy of
// every per-VF object between a scan and the next scrape, or for good when nobody asks for /status again.

/** The identities of a few objects (or undefined), compared with `matches` but not kept alive. */
export class WeakKeys {
  /** null: the key was undefined; otherwise a weak reference to it. */
  readonly #refs: readonly (WeakRef<object> | null)[];

  constructor(keys: readonly (object | undefined)[]) {
    this.#refs = keys.map((k) => (k === undefined ? null : new WeakRef(k)));
  }

  /**
   * True when every key is the same object as the one given at construction (or both are undefined). A key that
   * was collected since matches nothing: the object passed now is alive, so it cannot be the collected one.
   */
  matches(keys: readonly (object | undefined)[]): boolean {
    if (keys.length !== this.#refs.length) return false;
    for (let i = 0; i < keys.length; i++) {
      const ref = this.#refs[i];
      const key = keys[i];
      if (ref === null || ref === undefined ? key !== undefined : key === undefined || ref.deref() !== key) return false;
    }
    return true;
  }
}
