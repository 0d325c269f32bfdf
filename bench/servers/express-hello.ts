/** Baseline: the Express 5 hello-world app, answering a fixed body. */
import express from 'express';
import { createServer } from 'node:http';
import { serveUntilParentGoes } from './child.js';

const app = express();
app.get('/', (_req, res) => {
  res.send('Hello World!');
});
serveUntilParentGoes(createServer(app));
