// Real-kernel test hosts: a veth pair and a network namespace, the stand-in for a VF netdev moving into a pod.
// Used by the change-detection tests and benchmarks; every name is prefixed so parallel runs do not collide.
import { execFileSync } from 'node:child_process';

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function quietly(fn: () => unknown): void {
  try {
    fn();
  } catch {
    // already gone
  }
}

/** Why the real-kernel part cannot run here, or undefined when it can. */
export function kernelSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (creating a veth pair and a network namespace needs CAP_NET_ADMIN)';
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  } catch {
    return '`ip netns` unavailable (iproute2 missing or no network namespace support)';
  }
  return undefined;
}

/** A veth pair `<prefix>a`/`<prefix>b` and a namespace `<prefix>ns`; the peer `b` is the one that moves. */
export interface VethNetns {
  a: string;
  b: string;
  ns: string;
  /** Moves the peer into the namespace: the rtnetlink RTM_DELLINK (new-netns) a VF moved into a pod gives. */
  moveOut(): void;
  /** Brings the peer back into this process's namespace. */
  moveBack(): void;
  cleanup: () => void;
}

export function vethNetnsNames(prefix: string): { a: string; b: string; ns: string } {
  return { a: `${prefix}a`, b: `${prefix}b`, ns: `${prefix}ns` };
}

export function createVethNetns(prefix: string): VethNetns {
  if (prefix.length > 10) throw new Error(`veth prefix ${prefix} is longer than 10 characters`);
  const { a, b, ns } = vethNetnsNames(prefix);
  const cleanup = (): void => {
    quietly(() => ip('link', 'del', a));
    quietly(() => ip('netns', 'del', ns));
  };
  cleanup();
  try {
    ip('link', 'add', a, 'type', 'veth', 'peer', 'name', b);
    ip('netns', 'add', ns);
  } catch (err) {
    cleanup();
    throw err;
  }
  return {
    a,
    b,
    ns,
    moveOut: () => void ip('link', 'set', b, 'netns', ns),
    moveBack: () => void ip('-n', ns, 'link', 'set', b, 'netns', String(process.pid)),
    cleanup,
  };
}
