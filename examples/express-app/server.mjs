// An application protected with GBA (contract C11): a device that bootstrapped with the BSF gets in with its
// B-TID and Ks_NAF; the app learns who it is from req.gba. Run it against `gba-sim up`:
//   ZN_URL=…/nbsp-gba/v1 ZN_TOKEN=$(gba-sim naf add-app --fqdn app.example.org) node examples/express-app/server.mjs
import express from 'express';
import { gbaAuth } from 'gba-sim/naf';

const app = express();
app.use(
  gbaAuth({
    znUrl: process.env.ZN_URL,
    znToken: process.env.ZN_TOKEN,
    fqdn: process.env.APP_FQDN ?? 'app.example.org',
  }),
);
app.get('/hello', (req, res) =>
  res.json({ greeting: `Hello, ${req.gba.impi}`, btid: req.gba.btid, expiresAt: req.gba.expiresAt }),
);

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(JSON.stringify({ event: 'listening', url: `http://127.0.0.1:${server.address().port}/hello` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
