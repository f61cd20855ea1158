// Host identity, gathered once at start-up and never on the scan path: from systeminformation for the one-shot
// commands (loaded only then: its ~40 modules cost resident memory for the life of the process), and for `serve`
// from the files alone (DMI from the host sysfs, the CPU from the host procfs), which is what systeminformation
// reads on Linux anyway.
// Only answers that are true of the host when running in a container are kept: DMI system and BIOS data (read
// from the shared /sys/class/dmi), the CPU (from /proc/cpuinfo) and the kernel release (uname is the host's).
// The OS distribution is NOT kept: inside a container it describes the container image.
import { release } from 'node:os';
import type { HostIdentity } from './model.ts';
import type { Logger } from './log.ts';
import { HostFs } from './sysfs/host-fs.ts';

function clean(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  if (t === '' || /^(default string|to be filled by o\.e\.m\.|not specified|none|unknown)$/i.test(t)) return undefined;
  return t;
}

/** DMI identity straight from the host's sysfs (`class/dmi/id`), the fallback when systeminformation cannot see it. */
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

/** The CPU from `/proc/cpuinfo`: the first `model name` and the count of logical CPUs (`processor` entries). */
export function cpuIdentity(procfsRoot: string): Pick<HostIdentity, 'cpuBrand' | 'cpuCores'> {
  const r = new HostFs(procfsRoot).read('cpuinfo');
  const out: Pick<HostIdentity, 'cpuBrand' | 'cpuCores'> = {};
  if (!r.ok) return out;
  const brand = clean(/^model name\s*:\s*(.*)$/m.exec(r.value)?.[1]);
  if (brand !== undefined) out.cpuBrand = brand;
  const cores = r.value.match(/^processor\s*:/gm)?.length ?? 0;
  if (cores > 0) out.cpuCores = cores;
  return out;
}

/** Host identity from the host's files only (no systeminformation): what `serve` keeps. */
export function fileIdentity(sysfsRoot: string, procfsRoot: string): HostIdentity {
  const id: HostIdentity = { kernel: release(), ...dmiIdentity(sysfsRoot), ...cpuIdentity(procfsRoot) };
  for (const k of Object.keys(id) as (keyof HostIdentity)[]) if (id[k] === undefined) delete id[k];
  return id;
}

export async function gatherHostIdentity(log: Logger, sysfsRoot = '/sys', timeoutMs = 5000): Promise<HostIdentity> {
  const id: HostIdentity = { kernel: release() };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    timer.unref();
  });
  // the lookup fills its own object, copied only when it wins the race: a late answer never touches `id`
  const found: HostIdentity = {};
  const work = (async () => {
    const { default: si } = await import('systeminformation');
    const [system, bios, cpu] = await Promise.all([si.system(), si.bios(), si.cpu()]);
    const id = found;
    // In a container systeminformation reports the model as "Docker Container" and no vendor: that describes
    // the container, so it is dropped and the DMI fallback below (read from the host sysfs root) is used.
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
    return 'done' as const;
  })();
  try {
    const res = await Promise.race([work, timeout]);
    if (res === 'timeout') log.warn('host identity lookup timed out', { timeoutMs });
    else Object.assign(id, found);
  } catch (err) {
    log.warn('host identity lookup failed', { err });
    work.catch(() => undefined);
  } finally {
    if (timer) clearTimeout(timer);
  }
  const dmi = dmiIdentity(sysfsRoot);
  id.systemVendor ??= dmi.systemVendor;
  id.systemModel ??= dmi.systemModel;
  id.biosVendor ??= dmi.biosVendor;
  id.biosVersion ??= dmi.biosVersion;
  for (const k of Object.keys(id) as (keyof HostIdentity)[]) if (id[k] === undefined) delete id[k];
  return id;
}
