// `railwatch doctor`: the setup chain as an ordered report grouped by step, the first failing step named at the end.
// Exit code 0 when every check passes (skips allowed), 1 with a warning, 2 with a failure.
import { createAllocationSource } from '../allocation/source.ts';
import { startAttachments } from '../attach/agent.ts';
import { interfaceLine, type AttachmentView } from '../attach/judge.ts';
import { resolveKubeMode } from '../kube/client.ts';
import type { NodeSnapshot } from '../model.ts';
import { STEPS } from '../checks/catalogue.ts';
import { gatherProbes } from '../checks/probe.ts';
import { exitCodeFor, runChecks, summarize, type CheckSummary } from '../checks/run.ts';
import { stepLabel } from '../checks/step.ts';
import type { CheckReport, CheckResult, CheckStatus } from '../checks/types.ts';
import { createLogger, type Logger } from '../log.ts';
import { hostRootOf, loadConfig, logLevelOf, podResourcesSocketOf, vfInfoSourceOf } from './common.ts';
import { readVfListsFor } from '../netlink/vf-info.ts';
import { scanNode } from '../scan/registry.ts';
import type { AllocationView } from '../state.ts';
import { HostFs } from '../sysfs/host-fs.ts';
import { parseArgs, UsageError } from './args.ts';
import { flagSpec } from './help.ts';
import { checkProcfsRoot, checkSocketFlag, checkSysfsRoot } from './paths.ts';
import { terminalWidth, wrapAll } from './text.ts';
import { podRailsText, type PodRails } from '../pods/alignment.ts';
import { derive, type NodeView } from '../view/derive.ts';

/**
 * Asks the kubelet once which VFs are allocated to pods (so a VF netdev that left for a pod is not reported), when
 * its pod-resources socket exists; otherwise allocation stays unknown and such VFs are a warning.
 */
export async function doctorAllocation(socketPath: string): Promise<AllocationView> {
  const source = createAllocationSource({ socketPath, timeoutMs: 3000 });
  try {
    return (await source.read()).view;
  } finally {
    source.close();
  }
}

/**
 * Reads each pod holding VFs and the NADs it names once (no retries: doctor reports what Multus has written so
 * far), when there is an API server (in the cluster, or a kubeconfig); otherwise step 11 skips with the reason.
 */
export async function doctorAttachments(
  view: NodeView,
  noKube: boolean,
  log: Logger,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<AttachmentView> {
  const attachments = startAttachments({ mode: resolveKubeMode({ noKube, env }), counters: new Map(), log, requestTimeoutMs: 5000, tuning: { retry: { attempts: 1 } } });
  try {
    attachments.observe(view);
    await attachments.idle();
    return attachments.observe(view);
  } finally {
    attachments.stop();
  }
}

export interface DoctorJson {
  results: CheckResult[];
  /** Pods holding VFs: their interfaces, VFs and rails (step 11); absent when not gathered. */
  attachments?: AttachmentView;
  firstFailing: CheckResult | null;
  ready: boolean;
  summary: CheckSummary;
  /** Pods holding VFs or GPUs, with their rails and alignment; null when the kubelet could not be asked. */
  pods: PodRails[] | null;
}

export function doctorJson(report: CheckReport, pods: PodRails[] | null = null, attachments?: AttachmentView): DoctorJson {
  return { results: report.results, ...(attachments ? { attachments } : {}), firstFailing: report.firstFailing ?? null, ready: report.ready, summary: summarize(report), pods };
}

/** Per pod holding VFs: its interfaces -> VF -> rail, the VFs not attached, what could not be judged. */
export function podsText(view: AttachmentView | undefined): string[] {
  if (view === undefined) return [];
  const out: string[] = ['', 'Pods holding VFs:'];
  if (view.skipped !== undefined) {
    out.push(`  (skipped: ${view.skipped})`);
    return out;
  }
  if (view.pods.length === 0) {
    out.push('  (none)');
    return out;
  }
  for (const p of view.pods) {
    const rails = [...new Set(p.vfs.map((v) => v.rail).filter((r) => r !== undefined))].sort((a, b) => a - b);
    out.push(`  ${p.namespace}/${p.pod}: ${p.vfs.length} VF(s)${rails.length > 0 ? ` on rail(s) ${rails.join(',')}` : ''}${p.state === 'judged' ? '' : ` [${p.state}: ${p.why ?? ''}]`}`);
    for (const i of p.interfaces) out.push(`    ${interfaceLine(i)}`);
    for (const x of p.problems) out.push(`    ! ${x.message}`);
    for (const n of p.notes) out.push(`    - ${n}`);
  }
  return out;
}

const COLOURS: Record<CheckStatus, string> = { pass: '\x1b[32m', warn: '\x1b[33m', fail: '\x1b[31m', skip: '\x1b[2m' };
const RESET = '\x1b[0m';
const BOLD = '\x1b[1m';

export interface TextOptions {
  color: boolean;
  /** Detail lines shown per check (default 12); --json lists all. */
  maxDetails?: number;
  /** Wrap lines to this many columns (default: no wrapping). */
  width?: number;
  /** The per-pod section (pods holding VFs or GPUs); null: the kubelet could not be asked; undefined: left out. */
  pods?: PodRails[] | null;
}

export function doctorText(report: CheckReport, snapshot: NodeSnapshot, opts: TextOptions, attachments?: AttachmentView): string {
  const paint = (status: CheckStatus, text: string) => (opts.color ? `${COLOURS[status]}${text}${RESET}` : text);
  const bold = (text: string) => (opts.color ? `${BOLD}${text}${RESET}` : text);
  const h = snapshot.host;
  const out: string[] = [];
  out.push(
    `railwatch doctor: setup chain of ${snapshot.sysfsRoot} (${[h.cpuVendor, h.kernelRelease ? `kernel ${h.kernelRelease}` : undefined].filter(Boolean).join(', ') || 'host facts unknown'}; ` +
      `${snapshot.rails.length} rail(s), ${snapshot.gpus.length} GPU(s))`,
  );
  for (const step of STEPS) {
    const results = report.results.filter((r) => r.step === step.step);
    if (results.length === 0) continue;
    out.push('');
    out.push(bold(`${step.step}. ${step.title} [${stepLabel(step)}]`));
    for (const r of results) {
      out.push(`  ${paint(r.status, r.status.toUpperCase().padEnd(4))} ${r.id}: ${r.finding}`);
      const details = r.details ?? [];
      for (const d of details.slice(0, opts.maxDetails ?? 12)) out.push(`       - ${d}`);
      if (details.length > (opts.maxDetails ?? 12)) out.push(`       - (+${details.length - (opts.maxDetails ?? 12)} more; --json lists all)`);
      if (r.remediation !== undefined && (r.status === 'fail' || r.status === 'warn')) out.push(`       fix: ${r.remediation}`);
    }
  }
  if (opts.pods !== undefined) {
    out.push('');
    out.push(bold('Pods on rails (kubelet pod-resources)'));
    if (opts.pods === null) out.push('  unknown: the kubelet pod-resources API could not be asked');
    else if (opts.pods.length === 0) out.push('  no pod holds VFs or GPUs of this host');
    else for (const line of podRailsText(opts.pods)) out.push(`  ${line}`);
  }
  out.push(...podsText(attachments));
  const s = summarize(report);
  out.push('');
  out.push(`Summary: ${s.pass} pass, ${s.warn} warn, ${s.fail} fail, ${s.skip} skip`);
  const first = report.firstFailing;
  if (first) {
    out.push(paint('fail', `First failing step: ${first.stepLabel} (${first.id}): ${first.finding}`));
    if (first.remediation !== undefined) out.push(`Fix it first: ${first.remediation}`);
  } else if (s.warn > 0) {
    const warned = [...new Set(report.results.filter((r) => r.status === 'warn').map((r) => r.stepLabel))];
    out.push(paint('warn', `No step fails; warnings in ${warned.join(', ')}`));
  } else {
    out.push(paint('pass', 'No step fails: the setup chain is ready.'));
  }
  const text = out.join('\n') + '\n';
  return opts.width !== undefined ? wrapAll(text, opts.width) : text;
}

export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '');
}

export async function runDoctor(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, flagSpec('doctor'));
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`);
  const log = createLogger({ level: logLevelOf(args.values['log-level'] ?? 'warn') });
  const config = loadConfig(args.values['config']);
  const sysfsRoot = args.values['sysfs'] ?? '/sys';
  checkSysfsRoot(sysfsRoot);
  checkProcfsRoot(args.values['procfs'] ?? '/proc');
  if (args.values['pod-resources-socket'] !== undefined) checkSocketFlag('pod-resources-socket', args.values['pod-resources-socket'], true);
  const snapshot = scanNode({ sysfsRoot, procfsRoot: args.values['procfs'] ?? '/proc', config });
  if (snapshot.failedScanners.length > 0) log.warn('scanners failed', { scanners: snapshot.failedScanners });
  const hostRoot = hostRootOf(args.values['root'], args.values['sysfs']);
  const probes = gatherProbes({ snapshot, config, sys: new HostFs(sysfsRoot), host: new HostFs(hostRoot) });
  const vfSource = vfInfoSourceOf(args.values['ip-link-json'], hostRoot);
  const [allocation, vfInfo] = await Promise.all([doctorAllocation(podResourcesSocketOf(args.values['pod-resources-socket'], config, hostRoot)), readVfListsFor(vfSource, snapshot.pfs)]);
  if (vfInfo.error !== undefined) log.warn('VF netlink lists not read', { err: vfInfo.error });
  const view = derive(snapshot, allocation, probes, config, vfInfo);
  const attachments = await doctorAttachments(view, args.bools.has('no-kube'), log);
  const report = runChecks({ ...view, attachments });
  const pods = view.pods === undefined ? null : [...view.pods];
  if (args.bools.has('json')) process.stdout.write(JSON.stringify(doctorJson(report, pods, attachments), null, 2) + '\n');
  else process.stdout.write(doctorText(report, snapshot, { color: useColor(process.stdout, process.env), pods, width: terminalWidth(process.stdout, process.env) }, attachments));
  return exitCodeFor(report);
}
