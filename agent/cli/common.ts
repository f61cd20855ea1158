// Shared pieces of the commands: version, config loading, log level flag.
import { dirname, resolve } from 'node:path';
import { defaultConfig, loadConfigFile, type Config } from '../config/config.ts';
import { isLogLevel, type LogLevel } from '../log.ts';
import { UsageError } from './args.ts';

export const VERSION = '0.1.0';

export function loadConfig(file: string | undefined): Config {
  return file === undefined ? defaultConfig() : loadConfigFile(file);
}

export function logLevelOf(value: string | undefined): LogLevel {
  if (value === undefined) return 'info';
  if (!isLogLevel(value)) throw new UsageError(`--log-level must be debug, info, warn or error`);
  return value;
}

/**
 * The host root the kubelet and CNI paths of the config are read under (`--root`): given, it is used; else `/` for
 * the live host, and for a tree given with `--sysfs` the directory above it (a fixture's root), so a report on a
 * tree never mixes in this machine's /etc/cni or kubelet directories. The DaemonSet passes `--root /` (it mounts
 * those directories at their host paths).
 */
export function hostRootOf(root: string | undefined, sysfs: string | undefined): string {
  if (root !== undefined) return root;
  if (sysfs === undefined) return '/';
  return dirname(resolve(sysfs));
}
