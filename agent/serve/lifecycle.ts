// How `serve` stops, in order: first what would start new work (synchronously), then every running part at once
// (stop waits until all of them have settled, rejected or not), then what an in-flight scan may still have used.
// The parts register as they start; a second stop() does nothing.
export class AgentLifecycle {
  readonly #first: (() => void)[] = [];
  readonly #together: (() => Promise<unknown>)[] = [];
  readonly #last: (() => void)[] = [];
  #stopped = false;

  /** Runs first at stop, before the rest is closed. */
  stopFirst(step: () => void): void {
    this.#first.push(step);
  }

  /** Runs at stop with the other parts, in the order they registered; stop() waits until every one has settled. */
  stopTogether(step: () => Promise<unknown>): void {
    this.#together.push(step);
  }

  /** Runs once every part stopped together has settled. */
  stopLast(step: () => void): void {
    this.#last.push(step);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const step of this.#first) step();
    await Promise.allSettled(this.#together.map((step) => step()));
    for (const step of this.#last) step();
  }
}
