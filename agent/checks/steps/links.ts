// Step 6: links. Every rail's RDMA port ACTIVE/LinkUp at the expected rate, MTU and firmware equal across rails,
// PCIe links of rail NICs and GPUs at their maximum speed and width.
import type { PcieLink, RdmaDevice, RdmaPort } from '../../model.ts';
import { portIsUp } from '../../view/derive.ts';
import type { CheckResult } from '../types.ts';
import { failedScanner, listText, plural, resultsFor, type CheckDefinition, type CheckInput, type Step } from '../step.ts';

const STEP = { step: 6, slug: 'links' };

export const RAIL_PORTS_ACTIVE: CheckDefinition = {
  id: 'rail-ports-active',
  title: 'Rail RDMA ports ACTIVE / LinkUp',
  reads: ['/sys/class/infiniband/<dev>/ports/<n>/state', '/sys/class/infiniband/<dev>/ports/<n>/phys_state'],
  why: 'A rail whose port is not ACTIVE carries no RDMA traffic; collective operations across the rails stall or fall back to slower paths.',
  fix:
    'Check the cable and the switch port (ibstat / rdma link show); DOWN with phys_state Polling means no peer, LinkUp but INIT on InfiniBand means no subnet manager; ' +
    'on RoCE bring the netdev up (ip link set <pf> up).',
};

export const RAIL_RATE: CheckDefinition = {
  id: 'rail-rate',
  title: 'Rail ports at the expected rate',
  reads: ['/sys/class/infiniband/<dev>/ports/<n>/rate', 'config: expectedRateGbps'],
  why: 'One rail negotiated at a lower rate (a bad cable, a wrong breakout, auto-negotiation) slows every collective to that rail\'s speed.',
  fix: 'Reseat or replace the cable/transceiver, check the switch port speed and the NIC link settings (ethtool <pf>, mlxlink -d <pci>); set expectedRateGbps if the fastest rail is not the target.',
};

export const RAIL_MTU: CheckDefinition = {
  id: 'rail-mtu',
  title: 'MTU equal across rails',
  reads: ['/sys/class/net/<rail pf>/mtu', 'config: expectedMtu'],
  why: 'RoCE path MTU follows the netdev MTU; a rail with a smaller MTU fragments RDMA messages differently and can break jobs that assume one MTU.',
  fix: 'Set the same MTU on every rail PF (ip link set <pf> mtu 9000, persisted in the network configuration) and on the switch ports.',
};

export const RAIL_FIRMWARE: CheckDefinition = {
  id: 'rail-firmware',
  title: 'Firmware equal across rails',
  reads: ['/sys/class/infiniband/<dev>/fw_ver'],
  why: 'Mixed NIC firmware gives rails different defaults and bugs (congestion control, PCIe relaxed ordering), which shows up as one slow or flaky rail.',
  fix: 'Flash every rail NIC to the same firmware (mlxfwmanager --query / -u, or the vendor tool) and reset the NICs or reboot.',
};

export const PCIE_LINK: CheckDefinition = {
  id: 'pcie-link',
  title: 'PCIe links at maximum speed and width',
  reads: ['/sys/bus/pci/devices/<dev>/current_link_speed', 'max_link_speed', 'current_link_width', 'max_link_width'],
  why:
    'A NIC or GPU trained below its PCIe maximum (x8 instead of x16, Gen4 instead of Gen5) caps GPUDirect RDMA bandwidth below the network rate. ' +
    'GPUs lower their link speed when idle, so only their width is judged.',
  fix: 'Reseat the card or riser, check the slot wiring and the BIOS PCIe speed/bifurcation settings; compare LnkCap and LnkSta in lspci -vv.',
};

interface RailPort {
  rail: number;
  dev: RdmaDevice;
  port: RdmaPort;
}

function railPorts(input: CheckInput): RailPort[] {
  const out: RailPort[] = [];
  for (const { rail, pf } of input.rails) {
    const dev = pf.rdma;
    if (!dev) continue;
    for (const port of dev.ports) out.push({ rail: rail.rail, dev, port });
  }
  return out;
}

function portName(p: RailPort): string {
  return `rail ${p.rail} ${p.dev.name} port ${p.port.port}`;
}

function isActive(p: RdmaPort): boolean {
  return portIsUp(p);
}

function gbps(bits: number): string {
  return `${bits / 1e9} Gb/s`;
}

function portsActive(ports: RailPort[]): CheckResult {
  const r = resultsFor(STEP);
  if (ports.length === 0) return r.skip(RAIL_PORTS_ACTIVE, 'no rail RDMA ports');
  const down = ports.filter((p) => !isActive(p.port));
  if (down.length > 0) {
    return r.fail(RAIL_PORTS_ACTIVE, `${down.length} of ${plural(ports.length, 'rail port')} not ACTIVE/LinkUp`, {
      details: down.map((p) => `${portName(p)}: ${p.port.state ?? '?'}/${p.port.physState ?? '?'}`),
    });
  }
  return r.pass(RAIL_PORTS_ACTIVE, `all ${plural(ports.length, 'rail port')} ACTIVE/LinkUp`);
}

function rate(input: CheckInput, ports: RailPort[]): CheckResult {
  const r = resultsFor(STEP);
  const judged = ports.filter((p) => isActive(p.port) && p.port.rateBitsPerSecond !== undefined);
  if (judged.length === 0) return r.skip(RAIL_RATE, ports.length === 0 ? 'no rail RDMA ports' : 'no active rail port with a known rate');
  const fromConfig = input.config.expectedRateGbps !== undefined;
  const expected = fromConfig ? (input.config.expectedRateGbps ?? 0) * 1e9 : Math.max(...judged.map((p) => p.port.rateBitsPerSecond ?? 0));
  const source = fromConfig ? 'expectedRateGbps' : 'the fastest rail';
  const slow = judged.filter((p) => (p.port.rateBitsPerSecond ?? 0) < expected);
  if (slow.length > 0) {
    const finding = `${slow.length} of ${plural(judged.length, 'active rail port')} below ${gbps(expected)} (${source})`;
    const details = slow.map((p) => `${portName(p)}: ${gbps(p.port.rateBitsPerSecond ?? 0)}${p.port.rate ? ` (${p.port.rate})` : ''}`);
    // a rate below the configured one is a failure; below the fastest peer is a strong hint, not a certainty
    return fromConfig ? r.fail(RAIL_RATE, finding, { details }) : r.warn(RAIL_RATE, finding, { details });
  }
  return r.pass(RAIL_RATE, `${plural(judged.length, 'active rail port')} at ${gbps(expected)} (${source})`);
}

function mtu(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  const byName = new Map(input.snapshot.netdevs.map((n) => [n.name, n]));
  const known: { name: string; mtu: number }[] = [];
  for (const rail of input.snapshot.rails) {
    const nd = rail.netdev !== undefined ? byName.get(rail.netdev) : undefined;
    if (nd?.mtu !== undefined) known.push({ name: nd.name, mtu: nd.mtu });
  }
  if (known.length === 0) return r.skip(RAIL_MTU, input.snapshot.rails.length === 0 ? 'no rails' : 'no rail netdev with a known MTU');
  const want = input.config.expectedMtu;
  if (want !== undefined) {
    const off = known.filter((k) => k.mtu !== want);
    if (off.length > 0) {
      return r.fail(RAIL_MTU, `${off.length} of ${plural(known.length, 'rail netdev')} not at MTU ${want} (expectedMtu)`, {
        details: off.map((k) => `${k.name}: mtu ${k.mtu}`),
      });
    }
    return r.pass(RAIL_MTU, `${plural(known.length, 'rail netdev')} at MTU ${want} (expectedMtu)`);
  }
  const groups = new Map<number, string[]>();
  for (const k of known) groups.set(k.mtu, [...(groups.get(k.mtu) ?? []), k.name]);
  if (groups.size > 1) {
    const sorted = [...groups].sort((a, b) => b[1].length - a[1].length);
    return r.fail(RAIL_MTU, `MTU differs across rails: ${sorted.map(([m, names]) => `${m} on ${names.length}`).join(', ')}`, {
      details: sorted.map(([m, names]) => `mtu ${m}: ${listText(names)}`),
    });
  }
  return r.pass(RAIL_MTU, `MTU ${known[0]?.mtu} on all ${plural(known.length, 'rail netdev')}`);
}

function firmware(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  const known: { name: string; fw: string }[] = [];
  for (const { pf } of input.rails) {
    const dev = pf.rdma;
    if (dev?.fwVer !== undefined) known.push({ name: dev.name, fw: dev.fwVer });
  }
  if (input.snapshot.rails.length === 0) return r.skip(RAIL_FIRMWARE, 'no rails');
  if (known.length < 2) return r.skip(RAIL_FIRMWARE, `fewer than two rails with a firmware version (${known.length})`);
  const groups = new Map<string, string[]>();
  for (const k of known) groups.set(k.fw, [...(groups.get(k.fw) ?? []), k.name]);
  if (groups.size > 1) {
    const sorted = [...groups].sort((a, b) => b[1].length - a[1].length);
    return r.warn(RAIL_FIRMWARE, `firmware differs across rails: ${sorted.map(([fw, names]) => `${fw} on ${names.length}`).join(', ')}`, {
      details: sorted.map(([fw, names]) => `fw ${fw}: ${listText(names)}`),
    });
  }
  return r.pass(RAIL_FIRMWARE, `firmware ${known[0]?.fw} on all ${plural(known.length, 'rail')}`);
}

function linkText(l: PcieLink): string {
  return `${l.currentSpeedGTs ?? '?'} GT/s x${l.currentWidth ?? '?'} (max ${l.maxSpeedGTs ?? '?'} GT/s x${l.maxWidth ?? '?'})`;
}

function pcieLink(input: CheckInput): CheckResult {
  const r = resultsFor(STEP);
  const items: { what: string; link: PcieLink; gpu: boolean; known: boolean; degraded: boolean }[] = [];
  for (const { rail, pf } of input.rails) {
    if (pf.pcie) items.push({ what: `rail ${rail.rail} NIC ${rail.pf}`, link: pf.pcie.link, gpu: false, known: pf.pcie.known, degraded: pf.pcie.degraded });
  }
  for (const { gpu, pcie } of input.gpus) items.push({ what: `GPU ${gpu.pci}`, link: gpu.link, gpu: true, known: pcie.known, degraded: pcie.degraded });
  const known = items.filter((i) => i.known);
  if (known.length === 0) return r.skip(PCIE_LINK, items.length === 0 ? 'no rails and no GPUs' : 'no PCIe link attributes readable');
  const degraded = known.filter((i) => i.degraded);
  if (degraded.length > 0) {
    return r.warn(PCIE_LINK, `${degraded.length} of ${plural(known.length, 'PCIe link')} below maximum speed or width`, {
      details: degraded.map((i) => `${i.what}: ${linkText(i.link)}`),
    });
  }
  return r.pass(PCIE_LINK, `${plural(known.length, 'PCIe link')} (rail NICs and GPUs) at maximum width${known.some((i) => !i.gpu) ? ', NICs at maximum speed' : ''}`);
}

function run(input: CheckInput): CheckResult[] {
  const r = resultsFor(STEP);
  const all = [RAIL_PORTS_ACTIVE, RAIL_RATE, RAIL_MTU, RAIL_FIRMWARE, PCIE_LINK];
  const failed = failedScanner(input, 'pci', 'infiniband', 'net');
  if (failed) return all.map((d) => r.skip(d, `the ${failed} scanner failed: links unknown`));
  const ports = railPorts(input);
  return [portsActive(ports), rate(input, ports), mtu(input), firmware(input), pcieLink(input)];
}

export const linksStep: Step = { ...STEP, title: 'Links', checks: [RAIL_PORTS_ACTIVE, RAIL_RATE, RAIL_MTU, RAIL_FIRMWARE, PCIE_LINK], run };
