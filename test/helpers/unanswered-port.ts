// A TCP port whose connects never complete, for connect-phase timeouts.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { Worker } from 'node:worker_threads';

const HOST = '127.0.0.1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A listening socket whose accept queue is full, so a new connection's SYN is dropped and its
 * connect never completes: the listener lives in a worker thread whose event loop is blocked,
 * so nothing is ever accepted. Undefined when this machine completes such a connect anyway.
 */
export async function unansweredPort(t: TestContext): Promise<number | undefined> {
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const server = require('node:net').createServer();
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      parentPort.postMessage(server.address().port);
      setTimeout(() => { Atomics.wait(workerData, 0, 0); process.exit(0); }, 20);
    });`, { eval: true, workerData: gate });
  const fillers: Socket[] = [];
  t.after(async () => {
    for (const s of fillers) s.destroy();
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    await worker.terminate();
  });
  const [port] = (await once(worker, 'message')) as [number];
  await sleep(100);
  // Fill the accept queue until a connect hangs.
  for (let i = 0; i < 16; i++) {
    const socket = connect(port, HOST);
    socket.on('error', () => {});
    fillers.push(socket);
    const settled = await Promise.race([once(socket, 'connect').then(() => true, () => true), sleep(300).then(() => false)]);
    if (!settled) return port;
  }
  return undefined;
}

