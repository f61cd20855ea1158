// Shared pieces of the commands: version, config loading, log level flag, what the roots given decide.
import { dirname, join, resolve } from 'node:path';
import { defaultConfig, loadConfigFile, type Config } from '../config/config.ts';
import { isLogLevel, type LogLevel } from '../log.ts';
import { createFileVfInfoSource, createIpVfInfoSource, createNotThisHostVfInfoSource, type VfInfoSource } from '../netlink/vf-info.ts';
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

/**
 * The kubelet's pod-resources socket: `--pod-resources-socket` as given, else the config's path under the host
 * root, so that a report on a tree asks the tree's kubelet (a socket in a capture, usually none), never this
 * machine's.
 */
export function podResourcesSocketOf(flag: string | undefined, config: Config, hostRoot: string): string {
  return flag ?? join(hostRoot, config.kubelet.podResourcesSocket);
}

/** The reason a tree's PF netlink VF lists are not read, when the host root is not this machine's `/`. */
const NOT_THIS_HOST_VF_INFO =
  "the tree given with --sysfs is not this host (this machine's netlink is not asked); give --ip-link-json FILE with its recorded `ip -j -s -d link show` (from a shell in the host's network namespace: --ip-link-json <(ip -j -s -d link show))";

/**
 * Where the PFs' netlink VF lists come from: a recorded answer (`--ip-link-json`), this machine's iproute2 when the
 * host root is `/`, else nothing (NOT_THIS_HOST_VF_INFO).
 */
export function vfInfoSourceOf(ipLinkJson: string | undefined, hostRoot: string, opts: Parameters<typeof createIpVfInfoSource>[0] = {}): VfInfoSource {
  if (ipLinkJson !== undefined) return createFileVfInfoSource(ipLinkJson);
  if (resolve(hostRoot) === '/') return createIpVfInfoSource(opts);
  return createNotThisHostVfInfoSource(NOT_THIS_HOST_VF_INFO);
}
