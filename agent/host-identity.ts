// Host identity: DMI system and BIOS data, the CPU and the kernel release, gathered once at start-up and never on
// the scan path. Every fact comes from the roots railwatch was given: `<sysfs>/class/dmi/id`, `<procfs>/cpuinfo` and
// `<procfs>/sys/kernel/osrelease`. Only when the roots are the real host's own (`/sys` and `/proc`) is
// systeminformation asked as well (it reads this machine, never a root, and runs dmidecode); it is imported
// lazily there, so `serve` on `/host/sys` and every `--sysfs DIR` run never load it.
// The OS distribution is NOT kept: inside a container it describes the container image.
import { release } from 'node:os';
import { posix } from 'node:path';
import type { HostIdentity } from './model.ts';
import type { Logger } from './log.ts';
import { parseCpuinfoIdentity } from './parse/values.ts';
import { HostFs } from './sysfs/host-fs.ts';

/** Largest /proc/cpuinfo read for the identity (about 1,300 logical CPUs); a longer one gives no CPU count. */
const MAX_CPUINFO_BYTES = 2 * 1024 * 1024;

function clean(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  if (t === '' || /^(default string|to be filled by o\.e\.m\.|not specified|none|unknown)$/i.test(t)) return undefined;
  return t;
}

/** True when the roots are this machine's own `/sys` and `/proc`: the only case systeminformation describes. */
export function isOwnHost(sysfsRoot: string, procfsRoot: string): boolean {
  const norm = (p: string) => posix.normalize(p).replace(/\/+$/, '') || '/';
  return norm(sysfsRoot) === '/sys' && norm(procfsRoot) === '/proc';
}

/** DMI identity straight from a sysfs root (`class/dmi/id`). */
export function dmiIdentity(sysfsRoot: string): Pick<HostIdentity, 'systemVendor' | 'systemModel' | 'biosVendor' | 'biosVersion'> {
  const fs = new HostFs(sysfsRoot);
  const read = (f: string) => {
    const r = fs.read(`class/dmi/id/${f}`);
    return r.ok ? clean(r.value) : undefined;
  };
  const out: Pick<HostIdentity, 'systemVendor' | 'systemModel' | 'biosVendor' | 'biosVersion'> = {};
  const sv = read('sys_vendor');
  if (sv !== undefined) out.systemVendor = sv;
  const pn = read('product_name');
  if (pn !== undefined) out.systemModel = pn;
  const bv = read('bios_vendor');
  if (bv !== undefined) out.biosVendor = bv;
  const bver = read('bios_version');
  if (bver !== undefined) out.biosVersion = bver;
  return out;
}

/** The identity a pair of roots holds: DMI from the sysfs, kernel release and CPU from the procfs. */
export function rootIdentity(sysfsRoot: string, procfsRoot: string): HostIdentity {
  const id: HostIdentity = dmiIdentity(sysfsRoot);
  const proc = new HostFs(procfsRoot);
  const rel = proc.read('sys/kernel/osrelease');
  const kernel = rel.ok ? clean(rel.value) : undefined;
  if (kernel !== undefined) id.kernel = kernel;
  const cpuinfo = proc.readBytes('cpuinfo', MAX_CPUINFO_BYTES);
  if (cpuinfo.ok) {
    const cpu = parseCpuinfoIdentity(cpuinfo.value.toString('utf8'));
    if (cpu.brand !== undefined) id.cpuBrand = cpu.brand;
    // a cpuinfo that filled the whole buffer was cut: its count would be too low
    if (cpu.logicalCpus !== undefined && cpuinfo.value.length < MAX_CPUINFO_BYTES) id.cpuCores = cpu.logicalCpus;
  }
  return id;
}

/** What systeminformation says of this machine; undefined on a timeout or an error (logged). */
async function systemInformation(log: Logger, timeoutMs: number): Promise<HostIdentity | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    timer.unref();
  });
  const work = (async () => {
    const { default: si } = await import('systeminformation');
    const [system, bios, cpu] = await Promise.all([si.system(), si.bios(), si.cpu()]);
    const id: HostIdentity = {};
    // In a container systeminformation reports the model as "Docker Container" and no vendor: that describes
    // the container, so it is dropped and the DMI data of the sysfs root is used.
    const containerised = /docker|container|lxc|kubepods/i.test(system.model ?? '') || system.virtualHost === 'Docker';
    const vendor = containerised ? undefined : clean(system.manufacturer);
    if (vendor !== undefined) id.systemVendor = vendor;
    const model = containerised ? undefined : clean(system.model);
    if (model !== undefined) id.systemModel = model;
    const bv = clean(bios.vendor);
    if (bv !== undefined) id.biosVendor = bv;
    const bver = clean(bios.version);
    if (bver !== undefined) id.biosVersion = bver;
    const brand = clean([cpu.manufacturer, cpu.brand].filter(Boolean).join(' '));
    if (brand !== undefined) id.cpuBrand = brand;
    if (Number.isInteger(cpu.cores) && cpu.cores > 0) id.cpuCores = cpu.cores;
    return id;
  })();
  try {
    // the lookup fills its own object, used only when it wins the race: a late answer changes nothing
    const res = await Promise.race([work, timeout]);
    if (res !== 'timeout') return res;
    log.warn('host identity lookup timed out', { timeoutMs });
    work.catch(() => undefined);
  } catch (err) {
    log.warn('host identity lookup failed', { err });
  } finally {
    if (timer) clearTimeout(timer);
  }
  return undefined;
}

/**
 * The host identity of the roots. The roots' own files come first; on the own host (`/sys`, `/proc`) systeminformation
 * fills the gaps (dmidecode when class/dmi/id is unreadable, a CPU without `model name`); on any other roots (a
 * DaemonSet's `/host/sys`, a captured tree) only the roots speak.
 */
export async function gatherHostIdentity(log: Logger, sysfsRoot = '/sys', procfsRoot = '/proc', timeoutMs = 5000): Promise<HostIdentity> {
  const fromRoots = rootIdentity(sysfsRoot, procfsRoot);
  let id: HostIdentity = fromRoots;
  if (isOwnHost(sysfsRoot, procfsRoot)) {
    const si = await systemInformation(log, timeoutMs);
    id = { ...si, ...fromRoots };
    id.kernel ??= release();
  }
  for (const k of Object.keys(id) as (keyof HostIdentity)[]) if (id[k] === undefined) delete id[k];
  return id;
}
