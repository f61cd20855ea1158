// Pure parsers for sysfs and procfs attribute text. Each returns a value or a typed reason; none throws.

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}
function bad<T>(reason: string): Parsed<T> {
  return { ok: false, reason };
}

const UINT64_MAX = (1n << 64n) - 1n;

/** `0x15b3` style ids (`vendor`, `device`, `class`), normalised to lower case. */
export function parseHexId(text: string): Parsed<string> {
  const t = text.trim().toLowerCase();
  return /^0x[0-9a-f]{1,8}$/.test(t) ? ok(t) : bad(`not a 0x-prefixed hex id: ${JSON.stringify(text.slice(0, 40))}`);
}

/**
 * A PCI `modalias` (`pci:v00008086d00001572sv00008086sd00000004bc02sc00i00`): vendor, device, subsystem ids and the
 * class (base class, subclass, programming interface) in the forms of the `vendor`, `device` and `class` files.
 */
export interface PciModalias {
  vendor: string;
  device: string;
  subsystemVendor: string;
  subsystemDevice: string;
  class: string;
}

export function parsePciModalias(text: string): Parsed<PciModalias> {
  const m = /^pci:v([0-9A-Fa-f]{8})d([0-9A-Fa-f]{8})sv([0-9A-Fa-f]{8})sd([0-9A-Fa-f]{8})bc([0-9A-Fa-f]{2})sc([0-9A-Fa-f]{2})i([0-9A-Fa-f]{2})$/.exec(text.trim());
  if (!m) return bad(`not a PCI modalias: ${JSON.stringify(text.slice(0, 60))}`);
  const id = (h: string) => `0x${h.slice(4).toLowerCase()}`;
  return ok({ vendor: id(m[1]!), device: id(m[2]!), subsystemVendor: id(m[3]!), subsystemDevice: id(m[4]!), class: `0x${m[5]}${m[6]}${m[7]}`.toLowerCase() });
}

/** `sriov_vf_device` is bare hex without `0x` (`101e`); returned as `0x101e`. */
export function parseBareHex(text: string): Parsed<string> {
  const t = text.trim().toLowerCase();
  if (/^0x[0-9a-f]{1,8}$/.test(t)) return ok(t);
  return /^[0-9a-f]{1,8}$/.test(t) ? ok('0x' + t) : bad(`not hex: ${JSON.stringify(text.slice(0, 40))}`);
}

/** A non-negative decimal integer that fits a JS number exactly. */
export function parseUint(text: string): Parsed<number> {
  const t = text.trim();
  if (!/^\d{1,15}$/.test(t)) return bad(`not a non-negative integer: ${JSON.stringify(text.slice(0, 40))}`);
  return ok(Number(t));
}

/** A signed decimal integer that fits a JS number exactly. */
export function parseInt(text: string): Parsed<number> {
  const t = text.trim();
  if (!/^-?\d{1,15}$/.test(t)) return bad(`not an integer: ${JSON.stringify(text.slice(0, 40))}`);
  const n = Number(t);
  return ok(Object.is(n, -0) ? 0 : n);
}

/** `numa_node`: `-1` means "firmware gives none" and maps to undefined. */
export function parseNumaNode(text: string): Parsed<number | undefined> {
  const r = parseInt(text);
  if (!r.ok) return r;
  if (r.value === -1) return ok(undefined);
  return r.value < 0 ? bad(`negative numa_node ${r.value}`) : ok(r.value);
}

/** `carrier`: `0` or `1`. */
export function parseBool01(text: string): Parsed<boolean> {
  const t = text.trim();
  if (t === '1') return ok(true);
  if (t === '0') return ok(false);
  return bad(`not 0 or 1: ${JSON.stringify(text.slice(0, 40))}`);
}

/** `speed` in Mb/s; `-1` (up without link) and absurd values map to undefined. */
export function parseNetSpeed(text: string): Parsed<number | undefined> {
  const r = parseInt(text);
  if (!r.ok) return r;
  if (r.value < 0) return ok(undefined);
  return ok(r.value);
}

/**
 * PCIe link speed: `32.0 GT/s PCIe`, `8 GT/s` (kernels <= 5.6), `2.5 GT/s`; `Unknown` maps to undefined.
 */
export function parseLinkSpeed(text: string): Parsed<number | undefined> {
  const t = text.trim();
  if (t === 'Unknown' || t === '') return ok(undefined);
  const m = /^(\d{1,6}(?:\.\d{1,6})?) GT\/s(?: PCIe)?$/.exec(t); // bounded: never Infinity
  if (!m?.[1]) return bad(`not a PCIe link speed: ${JSON.stringify(text.slice(0, 40))}`);
  return ok(Number(m[1]));
}

/** RDMA port `rate`: `400 Gb/sec (4X NDR)`, `2.5 Gb/sec (1X SDR)`, `100 Gb/sec` -> bits per second. */
export function parseRdmaRate(text: string): Parsed<number> {
  const m = /^\s*(\d{1,6}(?:\.\d{1,6})?)\s*Gb\/sec\b/.exec(text); // bounded: never Infinity
  if (!m?.[1]) return bad(`not an RDMA rate: ${JSON.stringify(text.slice(0, 40))}`);
  return ok(Math.round(Number(m[1]) * 1e9));
}

/** `4: ACTIVE`, `5: LinkUp`, `1: CA`. */
export function parseNumberedName(text: string): Parsed<{ code: number; name: string }> {
  const m = /^\s*(\d{1,3}):\s*(\S(?:.*\S)?)\s*$/.exec(text);
  if (!m?.[1] || !m[2]) return bad(`not "N: NAME": ${JSON.stringify(text.slice(0, 40))}`);
  return ok({ code: Number(m[1]), name: m[2] });
}

/**
 * An RDMA counter: decimal, up to 2^64-1, kept as bigint. `N/A (no PMA)` (old kernels without PMA support) is
 * reported as a reason, never as 0.
 */
export function parseCounter(text: string): Parsed<bigint> {
  const t = text.trim();
  if (t.startsWith('N/A')) return bad('not available (no PMA)');
  if (!/^\d{1,20}$/.test(t)) return bad(`not a counter value: ${JSON.stringify(text.slice(0, 40))}`);
  const v = BigInt(t);
  return v > UINT64_MAX ? bad('counter value above 2^64-1') : ok(v);
}

/** `node_guid`: `b8ce:f603:00a1:b2c4`. */
export function parseGuid(text: string): Parsed<string> {
  const t = text.trim().toLowerCase();
  return /^[0-9a-f]{4}(:[0-9a-f]{4}){3}$/.test(t) ? ok(t) : bad(`not a GUID: ${JSON.stringify(text.slice(0, 40))}`);
}

/** `lid`, `sm_lid`: `0x%x`. */
export function parseHexNumber(text: string): Parsed<number> {
  const t = text.trim().toLowerCase();
  if (!/^0x[0-9a-f]{1,8}$/.test(t)) return bad(`not hex: ${JSON.stringify(text.slice(0, 40))}`);
  return ok(Number.parseInt(t.slice(2), 16));
}

const PCI_ADDRESS = /^([0-9a-f]{4,8}):([0-9a-f]{2}):([0-1][0-9a-f])\.([0-7])$/;

/** A full PCI address `0000:3b:00.0` (domain may be 8 hex digits on VMD hosts). */
export function parsePciAddress(text: string): Parsed<string> {
  const t = text.trim().toLowerCase();
  return PCI_ADDRESS.test(t) ? ok(t) : bad(`not a PCI address: ${JSON.stringify(text.slice(0, 40))}`);
}

export function isPciAddress(text: string): boolean {
  return PCI_ADDRESS.test(text);
}

/**
 * Code-unit order of two strings. Not localeCompare: that builds an ICU collator, whose data costs about 3 MiB
 * resident, and its order would depend on the locale.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Numeric sort key for PCI addresses (domain, bus, device, function). */
export function comparePciAddress(a: string, b: string): number {
  const ka = pciKey(a);
  const kb = pciKey(b);
  for (let i = 0; i < 4; i++) {
    const d = (ka[i] ?? 0) - (kb[i] ?? 0);
    if (d !== 0) return d;
  }
  return compareText(a, b);
}

function pciKey(addr: string): number[] {
  const m = PCI_ADDRESS.exec(addr);
  if (!m) return [Number.MAX_SAFE_INTEGER, 0, 0, 0];
  return [Number.parseInt(m[1] ?? '0', 16), Number.parseInt(m[2] ?? '0', 16), Number.parseInt(m[3] ?? '0', 16), Number(m[4])];
}

/** /proc/cmdline -> key/value map; bare flags map to true; the last occurrence of a key wins, as in the kernel. */
export function parseKernelCmdline(text: string): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  const re = /(?:[^\s"]+|"[^"]*")+/g;
  for (const m of text.matchAll(re)) {
    const tok = m[0];
    if (tok === '--') break;
    const eq = tok.indexOf('=');
    if (eq <= 0) {
      out[tok] = true;
    } else {
      out[tok.slice(0, eq)] = tok.slice(eq + 1).replace(/^"(.*)"$/, '$1');
    }
  }
  return out;
}

/** `vendor_id` of the first CPU in /proc/cpuinfo. */
export function parseCpuVendor(text: string): string | undefined {
  const m = /^vendor_id\s*:\s*(\S+)/m.exec(text);
  return m?.[1];
}

/**
 * CPU identity from /proc/cpuinfo: the first `model name` cleaned of trademark signs, "CPU" and the clock
 * ("Intel(R) Xeon(R) CPU E5-2695 v4 @ 2.10GHz" -> "Intel Xeon E5-2695 v4"), and the logical CPUs (`processor`
 * entries). Architectures without `model name` (arm64 lists `CPU implementer`) give no brand.
 */
export function parseCpuinfoIdentity(text: string): { brand?: string; logicalCpus?: number } {
  const out: { brand?: string; logicalCpus?: number } = {};
  const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1];
  if (model !== undefined) {
    const brand = model
      .replace(/\((?:R|TM|tm|r)\)/g, '')
      .replace(/\s@\s*[\d.]+\s*[GM]Hz\s*$/i, '')
      .replace(/\bCPU\b/g, '')
      .replace(/\s+/g, ' ')
      .trim();
    if (brand !== '') out.brand = brand;
  }
  const n = text.match(/^processor\s*:/gm)?.length ?? 0;
  if (n > 0) out.logicalCpus = n;
  return out;
}

/** /proc/meminfo: HugePages_Total, HugePages_Free, Hugepagesize (kB). */
export function parseMeminfoHugepages(text: string): { total?: number; free?: number; sizeKb?: number } {
  const out: { total?: number; free?: number; sizeKb?: number } = {};
  const total = /^HugePages_Total:\s+(\d{1,15})(?!\d)/m.exec(text)?.[1];
  const free = /^HugePages_Free:\s+(\d{1,15})(?!\d)/m.exec(text)?.[1];
  const size = /^Hugepagesize:\s+(\d{1,15})\s*kB/m.exec(text)?.[1];
  if (total !== undefined) out.total = Number(total);
  if (free !== undefined) out.free = Number(free);
  if (size !== undefined) out.sizeKb = Number(size);
  return out;
}

/** `hugepages-2048kB` -> 2048 */
export function parseHugepageDirName(name: string): number | undefined {
  const m = /^hugepages-(\d{1,15})kB$/.exec(name);
  return m?.[1] ? Number(m[1]) : undefined;
}

/** Switchdev representor port names: pf0vf3, c1pf0vf10, pf0sf88. The uplink is p0/p1; a PF representor is pf0. */
export function isRepresentorPortName(name: string): boolean {
  return /^(c\d+)?pf\d+(vf|sf)\d+$/.test(name) || /^(c\d+)?pf\d+$/.test(name);
}

export type GpuVendor = 'nvidia' | 'amd' | 'intel' | 'other';

export function gpuVendorName(vendor: string | undefined): GpuVendor {
  switch (vendor) {
    case '0x10de':
      return 'nvidia';
    case '0x1002':
      return 'amd';
    case '0x8086':
      return 'intel';
    default:
      return 'other';
  }
}

const NIC_VENDORS: Record<string, string> = {
  '0x15b3': 'mellanox',
  '0x14e4': 'broadcom',
  '0x8086': 'intel',
  '0x1077': 'qlogic',
  '0x19a2': 'emulex',
  '0x1d0f': 'amazon',
  '0x1924': 'solarflare',
  '0x1af4': 'virtio',
  '0x1dd8': 'pensando',
  '0x1fc1': 'cornelis',
};

export function nicVendorName(vendor: string | undefined): string {
  // own keys only: `valueOf` or `constructor` must not reach Object.prototype
  return (vendor !== undefined && Object.hasOwn(NIC_VENDORS, vendor) ? NIC_VENDORS[vendor] : undefined) ?? vendor ?? 'unknown';
}

/** PCI class helpers: `0x02xxxx` network, `0x0302xx` 3D controller, `0x0300xx` VGA, `0x0604xx` bridge. */
export function isNetworkClass(cls: string | undefined): boolean {
  return cls !== undefined && cls.startsWith('0x02');
}
/**
 * PCI classes a GPU can have: 3D controllers (data-centre GPUs), VGA controllers, display controllers (0x0380: AMD
 * Instinct, Intel Data Center GPUs) and, for AMD, processing accelerators (0x1200: Instinct MI300).
 */
export function isGpuClass(cls: string | undefined, vendor?: string): boolean {
  if (cls === undefined) return false;
  if (cls.startsWith('0x0302') || cls.startsWith('0x0300') || cls.startsWith('0x0380')) return true;
  return cls.startsWith('0x1200') && vendor === '0x1002';
}

/**
 * `text` as one flat string, for a string kept long (a cached label set, a check's detail line). A string built
 * with `+` is a tree of V8 cons strings, ~32 bytes per `+` and every piece kept; measured in lite mode, 20,000 label
 * sets of three labels take 5.7 MB that way and 1.9 MB flat. Reading a character makes V8 flatten the string in
 * place, and its collector then drops the tree.
 */
export function flat(text: string): string {
  text.charCodeAt(0);
  return text;
}
