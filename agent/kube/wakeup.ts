// The reconcile worker's wake-up and settle primitive. `trigger()` marks work pending, un-settles, and wakes the
// worker waiting in `wait()`; the worker `take()`s the pending mark before a pass, so a trigger during the pass is
// seen after it. `settle()` records that the state converged and resolves everyone waiting in `settled()`.
export class Wakeup {
  #pending = false;
  #converged = false;
  /** Resolves the worker's current wait(); one worker waits at a time. */
  #wake: (() => void) | undefined;
  #waiters: (() => void)[] = [];

  /** New work: pending, not converged, and the waiting worker (if any) runs. */
  trigger(): void {
    this.#pending = true;
    this.#converged = false;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** Work to run again without new input (a retry after a failure): pending, but converged stays as it was. */
  markPending(): void {
    this.#pending = true;
  }

  get pending(): boolean {
    return this.#pending;
  }

  /** Clears the pending mark at the start of a pass. */
  take(): void {
    this.#pending = false;
  }

  /**
   * Waits for a trigger; with a timeout, at most that long, after which work is pending (converged stays as it
   * was: a timed pass such as a heartbeat does not make settled() wait).
   */
  wait(timeoutMs: number | undefined): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      this.#wake = () => {
        if (timer !== undefined) clearTimeout(timer);
        resolve();
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#wake = undefined;
          this.#pending = true;
          resolve();
        }, timeoutMs);
      }
    });
  }

  /** Converged: resolves every settled() waiting. */
  settle(): void {
    this.#converged = true;
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w();
  }

  /** Resolves at once when converged with nothing pending, else at the next settle(). */
  settled(): Promise<void> {
    if (this.#converged && !this.#pending) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
