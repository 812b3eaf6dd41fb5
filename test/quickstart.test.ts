// `npm start` on a fresh clone: the example's backends, Waygate on examples/quickstart/, and a
// request through it reaching the example backend.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { request } from 'undici';
import { freePort } from './helpers/ports.ts';

test('npm start serves the example and a request reaches its backend', async () => {
  const admin = `127.0.0.1:${await freePort()}`;
  const child = spawn('npm', ['start', '--silent', '--', '--workers', '1'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: { ...process.env, WAYGATE_ADMIN_ADDRESS: admin, WAYGATE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    const end = Date.now() + 30_000;
    while (!out.includes('curl http://127.0.0.1:8080/ ') && Date.now() < end && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(out, /Waygate is serving examples\/quickstart\//, out);
    const web = await request('http://127.0.0.1:8080/');
    assert.equal(web.statusCode, 200);
    assert.equal((await web.body.json() as { backend: string }).backend, 'web');
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const api = await request('http://127.0.0.1:8080/api/hello');
      seen.add((await api.body.json() as { backend: string }).backend);
    }
    assert.ok(seen.has('api-v1'), 'the 90 % share reaches api-v1');
    assert.deepEqual([...seen].filter((b) => !b.startsWith('api-')), []);
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
});
