// `npm start`: the example's backends, then `waygate serve` on this directory, then a URL to try.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startBackends } from './backends.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const cli = fileURLToPath(new URL('../../bin/waygate.ts', import.meta.url));
const admin = process.env.WAYGATE_ADMIN_ADDRESS ?? '127.0.0.1:9901';

const backends = await startBackends();
const waygate = spawn(process.execPath, [cli, 'serve', '--manifests', here, '--admin-address', admin, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
waygate.on('exit', (code) => {
  for (const b of backends) b.close();
  process.exit(code ?? 0);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => waygate.kill(signal));

for (let i = 0; i < 100; i++) {
  const ready = await fetch(`http://${admin}/readyz`).then((r) => r.ok, () => false);
  if (ready) {
    process.stdout.write(
      [
        '',
        'Waygate is serving examples/quickstart/.',
        '  try:    curl http://127.0.0.1:8080/          (the web backend)',
        '          curl http://127.0.0.1:8080/api/hello (api-v1, or api-v2 one time in ten)',
        `  admin:  curl http://${admin}/api/status`,
        '  edit examples/quickstart/*.yaml: changes go live without dropping a request. Ctrl-C stops.',
        '',
      ].join('\n') + '\n',
    );
    break;
  }
  await new Promise((r) => setTimeout(r, 100));
}
