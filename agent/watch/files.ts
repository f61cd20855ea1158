// chokidar watchers for the regular files that matter (sysfs itself cannot be watched; see
// docs/change-detection.md): the config file, the kubelet device-plugins directory, the CNI config directory.
//
// A ConfigMap mounted as a volume is a directory of symlinks: `config.yaml -> ..data/config.yaml`,
// `..data -> ..2026_11_27_10_00_00.123`. The kubelet updates it by writing a new timestamped directory and
// renaming a new `..data` symlink over the old one; the file `config.yaml` itself never changes. So the watcher
// watches the directory that holds the file (depth 0, symlinks not followed) and re-reads the file on any event.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { ConfigError, parseConfigText, readError, type Config } from '../config/config.ts';
import type { Logger } from '../log.ts';

export interface Closable {
  /** Resolves when the initial scan of the watched directories is done. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface WatchConfigOptions {
  /** The config file as the agent opened it (e.g. /etc/railwatch/config.yaml). */
  file: string;
  /** A new, valid config whose text differs from the last accepted one. */
  onConfig: (cfg: Config) => void;
  /** A new config that failed to read or validate; the previous config stays in force. */
  onError?: (err: ConfigError) => void;
  log: Logger;
  /** Text of the config currently in force, so an event that changes nothing does not reload. */
  initialText?: string;
  /** Gather a burst of events (the kubelet's swap is several renames) into one reload. Default 100 ms. */
  debounceMs?: number;
}

function readConfig(file: string): { text: string; cfg: Config } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ field: '(file)', message: `cannot read: ${readError(err)}` }], undefined, file);
  }
  return { text, cfg: parseConfigText(text, file) };
}

export function watchConfig(opts: WatchConfigOptions): Closable {
  const file = resolve(opts.file);
  const dir = dirname(file);
  const log = opts.log;
  const debounceMs = opts.debounceMs ?? 100;
  let accepted = opts.initialText;
  let rejected: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  if (accepted === undefined) {
    try {
      accepted = readFileSync(file, 'utf8');
    } catch {
      // absent now; the first valid version that appears is loaded
    }
  }

  function reload(): void {
    timer = undefined;
    if (closed) return;
    let next: { text: string; cfg: Config };
    try {
      next = readConfig(file);
    } catch (err) {
      const cerr = err instanceof ConfigError ? err : new ConfigError('(file)', (err as Error).message);
      // a missing file during a swap is transient; log each distinct failure once
      const key = `error:${cerr.message}`;
      if (rejected !== key) {
        rejected = key;
        log.warn('config reload rejected; keeping the previous config', { file, field: cerr.field, err: cerr.message });
        opts.onError?.(cerr);
      }
      return;
    }
    if (next.text === accepted) {
      rejected = undefined;
      return;
    }
    accepted = next.text;
    rejected = undefined;
    log.info('config reloaded', { file });
    try {
      opts.onConfig(next.cfg);
    } catch (err) {
      log.error('config reload handler failed', { file, err });
    }
  }

  function schedule(): void {
    if (closed || timer !== undefined) return;
    timer = setTimeout(reload, debounceMs);
    timer.unref();
  }

  if (!existsSync(dir)) log.warn('config directory does not exist; watching for it', { dir });
  const { watcher, ready } = watchEntries(dir, log, () => schedule());

  return {
    ready,
    async close(): Promise<void> {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await watcher.close();
    },
  };
}

export interface WatchDirsOptions {
  /** Directories to watch (their entries, not deeper), e.g. the kubelet device-plugins dir and /etc/cni/net.d. */
  dirs: readonly string[];
  /** Something under `dir` was added, changed or removed. */
  onChange: (dir: string, event: string, path: string) => void;
  log: Logger;
}

export function watchDirs(opts: WatchDirsOptions): Closable {
  const log = opts.log;
  const dirs = opts.dirs.map((d) => resolve(d));
  for (const d of dirs) {
    if (!existsSync(d)) log.info('watched directory does not exist (yet)', { dir: d });
  }
  const watchers: FSWatcher[] = [];
  const readies: Promise<void>[] = [];
  for (const d of dirs) {
    const w = watchEntries(d, log, (event, path) => {
      try {
        opts.onChange(d, event, path);
      } catch (err) {
        log.error('directory change handler failed', { dir: d, err });
      }
    });
    readies.push(w.ready);
    watchers.push(w.watcher);
  }
  return {
    ready: Promise.all(readies).then(() => undefined),
    async close(): Promise<void> {
      await Promise.all(watchers.map((w) => w.close()));
    },
  };
}

/**
 * Watches the entries of `dir` (not deeper) through its parent directory, so that a directory that does not
 * exist yet (a CNI plugin's DaemonSet creates /etc/cni/net.d later) or is deleted and re-created is still
 * followed. Siblings of `dir` are ignored. Symlinks are not followed: a ConfigMap's `..data` swap is an event
 * on the symlink itself. Events before the initial listing is done are dropped (chokidar reports existing
 * symlinks as `add` even with ignoreInitial).
 */
function watchEntries(
  dir: string,
  log: Logger,
  onEvent: (event: string, path: string) => void,
): { watcher: FSWatcher; ready: Promise<void> } {
  const parent = dirname(dir);
  const inside = dir === '/' ? '/' : dir + sep;
  const watcher = watch(dir === parent ? dir : parent, {
    depth: dir === parent ? 0 : 1,
    ignoreInitial: true,
    followSymlinks: false,
    persistent: true,
    ignored: (p: string) => !(p === parent || p === dir || p.startsWith(inside)),
  });
  let isReady = false;
  watcher.on('all', (event, path) => {
    if (isReady && (path === dir || path.startsWith(inside))) onEvent(event, path);
  });
  watcher.on('error', (err) => log.warn('file watcher error', { dir, err }));
  const ready = new Promise<void>((res) =>
    watcher.once('ready', () => {
      isReady = true;
      res();
    }),
  );
  return { watcher, ready };
}
