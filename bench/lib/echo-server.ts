// Echo backends for the event-to-live benchmark: for each port given, a server on 127.0.0.1,
// 127.0.0.2 and 127.0.0.3 that answers every request with 200 and its port, so a response
// says which backend it came from.
// Run: node bench/lib/echo-server.ts <port> [<port> ...]
import { createServer } from 'node:http';

const ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

for (const port of process.argv.slice(2).map(Number)) {
  const body = `${port}\n`;
  for (const host of ADDRESSES) {
    createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    }).listen({ host, port });
  }
}
process.stdout.write(`echo backends on ${process.argv.slice(2).join(', ')}\n`);
