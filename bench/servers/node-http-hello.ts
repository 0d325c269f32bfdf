/** Baseline: a bare node:http server answering a fixed body. */
import { createServer } from 'node:http';
import { serveUntilParentGoes } from './child.js';

const BODY = Buffer.from('Hello World!');
serveUntilParentGoes(
  createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': BODY.length });
    res.end(BODY);
  }),
);
