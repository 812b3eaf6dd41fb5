// The quickstart's backends: tiny HTTP servers that answer with their name and what they saw.
import { createServer, type Server } from 'node:http';

export const QUICKSTART_BACKENDS = [
  { name: 'web', port: 9001 },
  { name: 'api-v1', port: 9002 },
  { name: 'api-v2', port: 9003 },
] as const;

export async function startBackends(host = '127.0.0.1'): Promise<Server[]> {
  return Promise.all(
    QUICKSTART_BACKENDS.map(
      ({ name, port }) =>
        new Promise<Server>((ok, fail) => {
          const server = createServer((req, res) => {
            const body = JSON.stringify({ backend: name, method: req.method, url: req.url, headers: req.headers }, null, 2) + '\n';
            res.writeHead(200, { 'content-type': 'application/json', 'x-backend': name });
            res.end(body);
          });
          server.once('error', (err) => fail(new Error(`backend ${name} could not listen on ${host}:${port}: ${err.message}`)));
          server.listen(port, host, () => ok(server));
        }),
    ),
  );
}
