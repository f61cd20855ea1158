// The paths a command is given, checked before anything is scanned: a --sysfs that is not a sysfs (a typo, /nonexistent)
// would otherwise look like a host without rails, and doctor would blame the IOMMU.
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UsageError } from './args.ts';
import { CliError, errnoWords, EXIT } from './errors.ts';

/** Any one of these under a directory makes it a sysfs root (the trees of other projects' tests hold only some). */
export const SYSFS_MARKERS = ['bus/pci', 'class/net', 'class/infiniband'] as const;
/** Any one of these makes a non-empty directory a procfs root. */
export const PROCFS_MARKERS = ['cmdline', 'cpuinfo', 'meminfo', 'modules', 'version', 'stat', 'sys', 'self', 'driver'] as const;

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The directory itself: exists, is a directory, may be listed; else the error naming it. */
function directory(flag: string, dir: string): string[] {
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--${flag} ${dir}: not a directory`);
    entries = readdirSync(dir);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new CliError(`--${flag} ${dir}: ${errnoWords(code)}`, EXIT.permission);
    throw new UsageError(`--${flag} ${dir}: ${code === 'ENOENT' ? 'no such directory' : errnoWords(code)}`);
  }
  return entries;
}

export function checkSysfsRoot(dir: string, flag = 'sysfs'): void {
  directory(flag, dir);
  if (SYSFS_MARKERS.some((m) => exists(join(dir, m)))) return;
  throw new UsageError(`--${flag} ${dir}: not a sysfs root (none of ${SYSFS_MARKERS.join(', ')} under it)`);
}

/** A procfs root: empty (some captured trees have an empty proc/), or holding one of PROCFS_MARKERS and no sysfs. */
export function checkProcfsRoot(dir: string, flag = 'procfs'): void {
  // an empty directory (a captured tree without procfs data; a placeholder such as .keep does not count) is accepted
  const entries = directory(flag, dir).filter((e) => !e.startsWith('.'));
  if (entries.length === 0) return;
  if (PROCFS_MARKERS.some((m) => entries.includes(m))) return;
  // (a procfs has bus/pci too, so only class/* tells a sysfs given in its place)
  const sysfsLike = SYSFS_MARKERS.filter((m) => m.startsWith('class/')).find((m) => exists(join(dir, m)));
  if (sysfsLike !== undefined) throw new UsageError(`--${flag} ${dir}: a sysfs root (it has ${sysfsLike}), not a procfs`);
  throw new UsageError(`--${flag} ${dir}: not a procfs root (none of ${PROCFS_MARKERS.join(', ')} under it)`);
}

/**
 * A socket path given on the command line. `mustExist`: doctor asks once, so the socket must be there; serve waits
 * for a kubelet that starts later, so only its directory must exist. What is there must be a socket the user may
 * connect to.
 */
export function checkSocketFlag(flag: string, path: string, mustExist: boolean): void {
  let isSocket: boolean;
  try {
    isSocket = statSync(path).isSocket();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new CliError(`--${flag} ${path}: ${errnoWords(code)} (a parent directory is not searchable)`, EXIT.permission);
    if (code !== 'ENOENT') throw new UsageError(`--${flag} ${path}: ${errnoWords(code)}`);
    if (mustExist) throw new UsageError(`--${flag} ${path}: no such socket`);
    let parent: boolean;
    try {
      parent = statSync(dirname(path)).isDirectory();
    } catch {
      parent = false;
    }
    if (!parent) throw new UsageError(`--${flag} ${path}: no such directory ${dirname(path)}`);
    return;
  }
  if (!isSocket) throw new UsageError(`--${flag} ${path}: not a unix socket`);
  try {
    // connecting to a unix socket needs write permission on it
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`--${flag} ${path}: ${errnoWords(code)} (the kubelet's socket is root-only)`, EXIT.permission);
  }
}

/** serve's roots and, when given, its socket flag. */
export function checkServePaths(values: Readonly<Record<string, string>>): void {
  checkSysfsRoot(values['sysfs'] ?? '/sys');
  checkProcfsRoot(values['procfs'] ?? '/proc');
  if (values['pod-resources-socket'] !== undefined) checkSocketFlag('pod-resources-socket', values['pod-resources-socket'], false);
}
