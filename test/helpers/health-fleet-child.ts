// A child of the supervisor in the health IPC test. Workers are the real `waygate serve` worker
// role; the controller publishes a fixed IR (argv[2], JSON) and runs the active health checks as
// the controller process does, appending every fleet envelope it hears to argv[3].
import { appendFileSync, readFileSync } from 'node:fs';
import { ActiveHealthChecker } from '../../src/dataplane/index.ts';
import type { IR } from '../../src/ir/index.ts';
import { serve } from '../../src/main.ts';
import { isEnvelope } from '../../src/supervisor/index.ts';

const [irFile, fleetLog] = process.argv.slice(2);

if (process.env.WAYGATE_ROLE === 'worker') {
  await serve({
    manifests: [], adminAddress: '127.0.0.1:0', listenAddress: '127.0.0.1', controllerName: 'test', workers: 2, entry: '', args: [],
  });
} else {
  const ir = JSON.parse(readFileSync(irFile, 'utf8')) as IR;
  const checker = new ActiveHealthChecker({ onUpdate: (update) => process.send!({ type: 'health', ...update }) });
  process.on('message', (m) => {
    if (!isEnvelope(m)) return;
    if (m.type === 'health') checker.seed(m);
    if (m.type === 'fleet') appendFileSync(fleetLog, `${JSON.stringify(m)}\n`);
  });
  process.send!({ type: 'config', version: '1-test', ir });
  checker.update(ir);
  const stop = () => {
    checker.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}
