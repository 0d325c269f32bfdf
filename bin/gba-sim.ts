#!/usr/bin/env node
/** The one CLI: `gba-sim <command>` (contract C1). */
import { Command } from 'commander';
import { configureExit } from './cli-util.js';
import { registerCryptoCommands } from './commands/crypto.js';
import { registerNfCommands } from './commands/nf.js';
import { registerUpCommand } from './commands/up.js';
import { registerSubscriberCommands } from './commands/subscriber.js';
import { registerDeviceCommands } from './commands/device.js';
import { runDemo } from './demo.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerUsimCommands } from './commands/usim.js';
import { registerConformCommands } from './commands/conform.js';
import { registerLoadCommand } from './commands/load.js';
import { registerNafAppCommands } from './commands/naf-app.js';

const program = configureExit(new Command('gba-sim'))
  .description('3GPP GBA lab network: HSS-mock, BSF, NAF, LwM2M server and device agent')
  .version('0.1.0');

registerUpCommand(program, ['hss-mock', 'bsf', 'naf', 'lwm2m'], (net, signal) =>
  runDemo(net, (s) => process.stdout.write(`${s}\n`), signal),
);
registerNfCommands(program);
registerNafAppCommands(program);
registerSubscriberCommands(program);
registerDeviceCommands(program);
registerCryptoCommands(program);
registerBenchCommand(program);
registerUsimCommands(program);
registerConformCommands(program);
registerLoadCommand(program);

await program.parseAsync(process.argv);
