// The dashboards railwatch ships: file in the repository and the function that builds it.

import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { dashboardJson } from './common.ts';
import { buildFleetDashboard, FLEET_FILE } from './fleet.ts';
import { buildNodeDashboard, NODE_FILE } from './node.ts';

export interface DashboardEntry {
  /** Path relative to the repository root. */
  file: string;
  build(): Dashboard;
}

export const dashboards: DashboardEntry[] = [
  { file: FLEET_FILE, build: buildFleetDashboard },
  { file: NODE_FILE, build: buildNodeDashboard },
];

/** The committed JSON of every dashboard, keyed by file. */
export function renderDashboards(): Map<string, string> {
  return new Map(dashboards.map((entry) => [entry.file, dashboardJson(entry.build())]));
}
