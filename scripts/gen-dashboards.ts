// Writes the Grafana dashboards built in dashboards/src/ as JSON into dashboards/.
// Usage: node scripts/gen-dashboards.ts [repository root, default: the current directory]

import { writeGenerated } from './write-generated.ts';
import { renderDashboards } from '../dashboards/src/registry.ts';

if (import.meta.main) {
  await writeGenerated(process.argv[2] ?? process.cwd(), renderDashboards());
}
