#!/usr/bin/env node
/** The one CLI: `gba-sim <command>` (contract C1). */
import { Command } from 'commander';
import { configureExit } from './cli-util.js';
import { registerCryptoCommands } from './commands/crypto.js';

const program = configureExit(new Command('gba-sim'))
  .description('3GPP GBA lab network: HSS-mock, BSF, NAF, LwM2M server and device agent')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

registerCryptoCommands(program);

await program.parseAsync(process.argv);
