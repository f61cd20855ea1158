// The config `serve` runs with, and its reloads: from the config file's watcher or on SIGHUP (reloadFile). A new
// config is in force from the next scan on, which it triggers; the settings read only at start-up are named in a
// warning. A rejected config (logged with its field) leaves the old one in force.
import { ConfigError, loadConfigFile, type Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { bump } from '../state.ts';
import { watchConfig, type Closable } from '../watch/files.ts';

/** The settings `next` changes that take effect only at a restart, by name. */
export function restartOnlyChanges(prev: Config, next: Config): string[] {
  return (
    [
      ['labelPrefix', next.labelPrefix !== prev.labelPrefix],
      ['scanIntervalSeconds', next.scanIntervalSeconds !== prev.scanIntervalSeconds],
      ['conditionHeartbeatSeconds', next.conditionHeartbeatSeconds !== prev.conditionHeartbeatSeconds],
      ['kubelet.podResourcesSocket', next.kubelet.podResourcesSocket !== prev.kubelet.podResourcesSocket],
      ['kubelet.devicePluginsDir', next.kubelet.devicePluginsDir !== prev.kubelet.devicePluginsDir],
      ['cni.confDir', next.cni.confDir !== prev.cni.confDir],
    ] as const
  )
    .filter(([, changed]) => changed)
    .map(([field]) => field);
}

export interface LiveConfigOptions {
  config: Config;
  /** The file the config was loaded from; without one there is nothing to watch or reload. */
  file?: string;
  /** Called after a new config is in force (serve triggers a scan). */
  onApplied: () => void;
  /** The agent's scanErrorsTotal: a config the watcher rejects counts as scanner `config`. */
  errors: Map<string, number>;
  log: Logger;
}

export class LiveConfig {
  #config: Config;
  readonly #file: string | undefined;
  readonly #onApplied: () => void;
  readonly #errors: Map<string, number>;
  readonly #log: Logger;

  constructor(opts: LiveConfigOptions) {
    this.#config = opts.config;
    this.#file = opts.file;
    this.#onApplied = opts.onApplied;
    this.#errors = opts.errors;
    this.#log = opts.log;
  }

  /** The config in force. */
  get current(): Config {
    return this.#config;
  }

  /** Puts `next` in force; `source` (`file watch`, `SIGHUP`) is for the log. */
  apply(next: Config, source: string): void {
    const restartOnly = restartOnlyChanges(this.#config, next);
    if (restartOnly.length > 0) this.#log.warn('these settings take effect at the next restart', { source, fields: restartOnly });
    this.#config = next;
    this.#log.info('config reloaded', { source });
    this.#onApplied();
  }

  /** Re-reads the config file now (SIGHUP). */
  reloadFile(): void {
    if (this.#file === undefined) {
      this.#log.info('no config file to reload');
      return;
    }
    try {
      this.apply(loadConfigFile(this.#file), 'SIGHUP');
    } catch (err) {
      const e = err as ConfigError;
      this.#log.error('rejected the new config; keeping the old one', { err: e.message, field: e.field });
    }
  }

  /** Starts the config file's watcher; undefined when there is no file. */
  watch(): Closable | undefined {
    if (this.#file === undefined) return undefined;
    return watchConfig({
      file: this.#file,
      onConfig: (cfg) => this.apply(cfg, 'file watch'),
      // watchConfig logs the rejection (naming the field) itself
      onError: () => bump(this.#errors, 'config'),
      log: this.#log,
    });
  }
}
