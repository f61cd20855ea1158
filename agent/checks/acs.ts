// PCIe Access Control Services (ACS) from a function's binary config space (sysfs `config`).
// Extended capabilities start at 0x100; each header is 32 bits: ID (bits 0-15), version (16-19), next (20-31).
// The ACS capability (ID 0x000D) holds the ACS Capability register at +4 and the ACS Control register at +6.
// Unprivileged readers get only the first 64 bytes of `config` (CAP_SYS_ADMIN is needed for the rest).

export const ACS_CAP_ID = 0x000d;
const EXT_CAP_START = 0x100;
const CONFIG_SPACE_SIZE = 4096;

/** ACS Control (or Capability) register bits. */
export interface AcsFlags {
  /** bit 0: Source Validation */
  sourceValidation: boolean;
  /** bit 1: Translation Blocking */
  translationBlocking: boolean;
  /** bit 2: P2P Request Redirect */
  requestRedirect: boolean;
  /** bit 3: P2P Completion Redirect */
  completionRedirect: boolean;
  /** bit 4: Upstream Forwarding */
  upstreamForwarding: boolean;
  /** bit 5: P2P Egress Control */
  egressControl: boolean;
  /** bit 6: Direct Translated P2P */
  directTranslatedP2p: boolean;
}

export type AcsParse =
  /** Only the standard header was readable (64 bytes for an unprivileged reader). */
  | { kind: 'short'; length: number }
  /** Conventional (256-byte) config space: no extended capabilities, so no ACS. */
  | { kind: 'no-extended' }
  /** Extended capabilities walked, no ACS among them. */
  | { kind: 'absent' }
  | { kind: 'present'; offset: number; version: number; capability: AcsFlags; control: AcsFlags; controlRaw: number; redirect: AcsRedirect[] }
  /** A broken capability chain (loop, pointer out of range, truncated). */
  | { kind: 'malformed'; reason: string };

/** Control bits that make peer-to-peer traffic detour through the root complex. */
export type AcsRedirect = 'RequestRedirect' | 'CompletionRedirect' | 'UpstreamForwarding' | 'EgressControl';

export function acsFlags(reg: number): AcsFlags {
  return {
    sourceValidation: (reg & 0x1) !== 0,
    translationBlocking: (reg & 0x2) !== 0,
    requestRedirect: (reg & 0x4) !== 0,
    completionRedirect: (reg & 0x8) !== 0,
    upstreamForwarding: (reg & 0x10) !== 0,
    egressControl: (reg & 0x20) !== 0,
    directTranslatedP2p: (reg & 0x40) !== 0,
  };
}

function redirects(f: AcsFlags): AcsRedirect[] {
  const out: AcsRedirect[] = [];
  if (f.requestRedirect) out.push('RequestRedirect');
  if (f.completionRedirect) out.push('CompletionRedirect');
  if (f.upstreamForwarding) out.push('UpstreamForwarding');
  if (f.egressControl) out.push('EgressControl');
  return out;
}

/** Finds the ACS extended capability in a config-space dump and decodes its control register. */
export function parseAcs(config: Uint8Array): AcsParse {
  const buf = Buffer.from(config.buffer, config.byteOffset, Math.min(config.byteLength, CONFIG_SPACE_SIZE));
  // 64 bytes (128 for CardBus) is what the kernel hands a reader without CAP_SYS_ADMIN
  if (buf.length < EXT_CAP_START && buf.length <= 128) return { kind: 'short', length: buf.length };
  if (buf.length < EXT_CAP_START) return { kind: 'malformed', reason: `config space of ${buf.length} bytes` };
  if (buf.length === EXT_CAP_START) return { kind: 'no-extended' };
  if (buf.length < EXT_CAP_START + 4) return { kind: 'malformed', reason: `config space of ${buf.length} bytes` };
  const seen = new Set<number>();
  let off = EXT_CAP_START;
  for (;;) {
    const header = buf.readUInt32LE(off);
    if (header === 0 || header === 0xffffffff) {
      return off === EXT_CAP_START ? { kind: 'absent' } : { kind: 'malformed', reason: `empty capability header at 0x${off.toString(16)}` };
    }
    const id = header & 0xffff;
    const version = (header >>> 16) & 0xf;
    const next = (header >>> 20) & 0xffc;
    if (id === ACS_CAP_ID) {
      if (off + 8 > buf.length) return { kind: 'malformed', reason: `ACS capability at 0x${off.toString(16)} truncated` };
      const capability = acsFlags(buf.readUInt16LE(off + 4));
      const controlRaw = buf.readUInt16LE(off + 6);
      const control = acsFlags(controlRaw);
      return { kind: 'present', offset: off, version, capability, control, controlRaw, redirect: redirects(control) };
    }
    seen.add(off);
    if (next === 0) return { kind: 'absent' };
    if (next < EXT_CAP_START) return { kind: 'malformed', reason: `next pointer 0x${next.toString(16)} below 0x100` };
    if (next + 4 > buf.length) return { kind: 'malformed', reason: `next pointer 0x${next.toString(16)} beyond ${buf.length} bytes` };
    if (seen.has(next)) return { kind: 'malformed', reason: `capability loop at 0x${next.toString(16)}` };
    off = next;
  }
}
