// The kubelet allocation refresh of each complete scan: reads the pod-resources API into the agent state and logs
// a change of reachability once (a new reason it is unknown, or reachable again), not on every scan.
import type { AllocationSource } from '../allocation/source.ts';
import type { Logger } from '../log.ts';
import { bump, type AgentState } from '../state.ts';

export interface AllocationRefreshOptions {
  source: AllocationSource;
  /** The kubelet socket, for the log lines. */
  socketPath: string;
  state: Pick<AgentState, 'allocation' | 'scanErrorsTotal'>;
  log: Logger;
}

export class AllocationRefresh {
  readonly #source: AllocationSource;
  readonly #socketPath: string;
  readonly #state: Pick<AgentState, 'allocation' | 'scanErrorsTotal'>;
  readonly #log: Logger;
  /** Why the previous read found the allocations unknown; undefined after a good read. */
  #lastError: string | undefined;

  constructor(opts: AllocationRefreshOptions) {
    this.#source = opts.source;
    this.#socketPath = opts.socketPath;
    this.#state = opts.state;
    this.#log = opts.log;
  }

  /** Sets state.allocation from a fresh read; a failed read counts as scanner `pod-resources`. */
  async refresh(): Promise<void> {
    const { view, err } = await this.#source.read();
    this.#state.allocation = view;
    if (view.error === undefined) {
      if (this.#lastError !== undefined) this.#log.info('kubelet pod-resources reachable again', { socket: this.#socketPath });
      this.#lastError = undefined;
      return;
    }
    bump(this.#state.scanErrorsTotal, 'pod-resources');
    if (view.error !== this.#lastError) {
      this.#log.warn('VF allocation unknown: cannot read the kubelet pod-resources API', {
        socket: this.#socketPath,
        reason: view.error,
        err: err?.message,
      });
    }
    this.#lastError = view.error;
  }

  close(): void {
    this.#source.close();
  }
}
