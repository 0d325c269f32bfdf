/**
 * `gba-sim crypto …` — the conformance crypto core as a scriptable CLI (contract C4): flat JSON objects of
 * lower-case hex. Only a wrong length or bad hex exits 2.
 */
import type { Command } from 'commander';
import { ArgChecker, printJson } from '../cli-util.js';
import { createAkaAlgorithm, type AkaAlgorithm } from '../../shared/crypto/aka-algorithm.js';
import { computeOpc, type MilenageConstants } from '../../shared/crypto/milenage.js';
import { buildAuts, generateVector, recoverSqnMs } from '../../shared/crypto/aka-tokens.js';
import { ks, ksIntNaf, ksNaf } from '../../shared/crypto/kdf.js';
import { akaPassword, computeDigest, type Qop } from '../../shared/crypto/digest.js';
import { describeUaId } from '../../shared/ua-ids.js';

interface KeyOpts {
  k?: string;
  op?: string;
  opc?: string;
  algorithm?: string;
  resLength?: string;
}

function addKeyOptions(cmd: Command): Command {
  return cmd
    .option('--k <hex>', 'subscriber key K (16 octets)')
    .option('--op <hex>', 'operator variant OP (16 octets)')
    .option('--opc <hex>', 'OPc (16 octets)')
    .option('--algorithm <name>', 'milenage (default) or xor (TS 34.108 §8.1.2 test algorithm)', 'milenage')
    .option('--res-length <octets>', 'XOR only: RES length in octets, 4..16', '16');
}

function algorithmFrom(c: ArgChecker, o: KeyOpts): { alg?: AkaAlgorithm; opc?: Buffer } {
  const k = c.hex('k', o.k, 16);
  if (o.algorithm === 'xor') {
    const resLength = Number(o.resLength);
    if (!Number.isInteger(resLength) || resLength < 4 || resLength > 16)
      c.problem('--res-length: must be 4..16 octets');
    if (c.problems.length) return {};
    return { alg: createAkaAlgorithm({ algorithm: 'xor', k, resLength }) };
  }
  if (o.algorithm !== 'milenage') c.problem(`--algorithm: must be milenage or xor, not ${JSON.stringify(o.algorithm)}`);
  if ((o.op === undefined) === (o.opc === undefined)) c.problem('give exactly one of --op and --opc');
  const op = o.op !== undefined ? c.hex('op', o.op, 16) : undefined;
  const opcIn = o.opc !== undefined ? c.hex('opc', o.opc, 16) : undefined;
  if (c.problems.length) return {};
  const opc = opcIn ?? computeOpc(k, op!);
  return { alg: createAkaAlgorithm({ algorithm: 'milenage', k, opc }), opc };
}

export function registerCryptoCommands(program: Command): void {
  const crypto = program
    .command('crypto')
    .description('conformance crypto core: Milenage, AKA tokens, GBA KDF, HTTP Digest (prints JSON)');

  addKeyOptions(crypto.command('milenage').description('f1, f1*, f2, f3, f4, f5, f5* and AUTN (TS 35.206)'))
    .option('--rand <hex>', 'RAND (16 octets)')
    .option('--sqn <hex>', 'SQN (6 octets)')
    .option('--amf <hex>', 'AMF (2 octets)')
    .action((o: KeyOpts & { rand?: string; sqn?: string; amf?: string }) => {
      const c = new ArgChecker();
      const { alg, opc } = algorithmFrom(c, o);
      const rand = c.hex('rand', o.rand, 16),
        sqn = c.hex('sqn', o.sqn, 6),
        amf = c.hex('amf', o.amf, 2);
      c.done();
      const r = alg!.all(rand, sqn, amf);
      const av = generateVector(alg!, rand, sqn, amf);
      printJson({
        ...(opc ? { opc: opc.toString('hex') } : {}),
        mac_a: r.macA.toString('hex'),
        mac_s: r.macS.toString('hex'),
        res: r.res.toString('hex'),
        ck: r.ck.toString('hex'),
        ik: r.ik.toString('hex'),
        ak: r.ak.toString('hex'),
        ak_star: r.akStar.toString('hex'),
        autn: av.autn.toString('hex'),
      });
    });

  addKeyOptions(crypto.command('autn').description('AUTN = SQN⊕AK ‖ AMF ‖ MAC-A (TS 33.102 §6.3.2)'))
    .option('--rand <hex>', 'RAND (16 octets)')
    .option('--sqn <hex>', 'SQN (6 octets)')
    .option('--amf <hex>', 'AMF (2 octets)')
    .action((o: KeyOpts & { rand?: string; sqn?: string; amf?: string }) => {
      const c = new ArgChecker();
      const { alg } = algorithmFrom(c, o);
      const rand = c.hex('rand', o.rand, 16),
        sqn = c.hex('sqn', o.sqn, 6),
        amf = c.hex('amf', o.amf, 2);
      c.done();
      const r = alg!.all(rand, sqn, amf);
      printJson({
        autn: generateVector(alg!, rand, sqn, amf).autn.toString('hex'),
        ak: r.ak.toString('hex'),
        mac_a: r.macA.toString('hex'),
      });
    });

  addKeyOptions(
    crypto
      .command('auts')
      .description('build AUTS from SQN_MS, or (--auts) recover SQN_MS and check MAC-S (TS 33.102 §6.3.3, §6.3.5)'),
  )
    .option('--rand <hex>', 'RAND of the failed challenge (16 octets)')
    .option('--sqn-ms <hex>', 'SQN_MS to put in AUTS (6 octets)')
    .option('--auts <hex>', 'AUTS to open (14 octets)')
    .action((o: KeyOpts & { rand?: string; sqnMs?: string; auts?: string }) => {
      const c = new ArgChecker();
      const { alg } = algorithmFrom(c, o);
      const rand = c.hex('rand', o.rand, 16);
      if ((o.sqnMs === undefined) === (o.auts === undefined)) c.problem('give exactly one of --sqn-ms and --auts');
      const sqnMs = o.sqnMs !== undefined ? c.hex('sqn-ms', o.sqnMs, 6) : undefined;
      const auts = o.auts !== undefined ? c.hex('auts', o.auts, 14) : undefined;
      c.done();
      if (auts) {
        const r = recoverSqnMs(alg!, rand, auts);
        printJson({ sqn_ms: r.sqnMs.toString('hex'), mac_s_ok: r.macSOk });
      } else {
        const r = buildAuts(alg!, rand, sqnMs!);
        printJson({ auts: r.auts.toString('hex'), ak_star: r.akStar.toString('hex'), mac_s: r.macS.toString('hex') });
      }
    });

  crypto
    .command('ks-naf')
    .description('Ks_NAF, Ks_ext_NAF, Ks_int_NAF (TS 33.220 Annex B.3)')
    .option('--ks <hex>', 'Ks = CK ‖ IK (32 octets, as `device bootstrap --show-keys` prints it); or --ck and --ik')
    .option('--ck <hex>', 'CK (16 octets)')
    .option('--ik <hex>', 'IK (16 octets)')
    .option('--rand <hex>', 'RAND (16 octets)')
    .option('--impi <impi>', 'IMPI')
    .option('--naf-fqdn <fqdn>', 'NAF FQDN')
    .option('--ua-id <hex>', 'Ua security protocol id, any 5 octets (e.g. 0100000002, 010001c0a8)')
    .action(
      (o: { ks?: string; ck?: string; ik?: string; rand?: string; impi?: string; nafFqdn?: string; uaId?: string }) => {
        const c = new ArgChecker();
        if (o.ks !== undefined && (o.ck !== undefined || o.ik !== undefined))
          c.problem('--ks: give either --ks or --ck and --ik, not both');
        // TS 33.220 §4.5.2: Ks = CK ‖ IK.
        const ksIn = o.ks !== undefined ? c.hex('ks', o.ks, 32) : undefined;
        const ck = ksIn ? ksIn.subarray(0, 16) : c.hex('ck', o.ck, 16),
          ik = ksIn ? ksIn.subarray(16) : c.hex('ik', o.ik, 16);
        const rand = c.hex('rand', o.rand, 16);
        const impi = c.required('impi', o.impi),
          nafFqdn = c.required('naf-fqdn', o.nafFqdn);
        const uaId = c.hex('ua-id', o.uaId, 5);
        c.done();
        process.stderr.write(`Ua id ${uaId.toString('hex')}: ${describeUaId(uaId.toString('hex'))}\n`);
        const input = { ks: ks(ck, ik), rand, impi, nafFqdn, uaSecProtId: uaId };
        const me = ksNaf(input).toString('hex');
        printJson({ ks_naf: me, ks_ext_naf: me, ks_int_naf: ksIntNaf(input).toString('hex') });
      },
    );

  crypto
    .command('digest')
    .description('HTTP Digest HA1, HA2, response and rspauth (RFC 2617, RFC 3310, RFC 4169)')
    .option('--username <u>')
    .option('--realm <r>')
    .option('--password <text>', 'plain password (algorithm MD5)')
    .option('--res <hex>', 'AKA RES (password for AKAv1-MD5; with --ck/--ik for AKAv2-MD5)')
    .option('--nonce <n>')
    .option('--nc <nc>', 'nonce count, 8 hex digits')
    .option('--cnonce <c>')
    .option('--qop <qop>', 'auth or auth-int')
    .option('--method <m>')
    .option('--uri <uri>')
    .option('--body-hex <hex>', 'request entity body (auth-int), default empty')
    .option('--response-body-hex <hex>', 'response entity body that rspauth covers, default empty')
    .option('--algorithm <alg>', 'AKAv1-MD5 (default with --res) or AKAv2-MD5')
    .option('--ck <hex>', 'CK (16 octets), AKAv2-MD5')
    .option('--ik <hex>', 'IK (16 octets), AKAv2-MD5')
    .action((o: Record<string, string | undefined>) => {
      const c = new ArgChecker();
      const username = c.required('username', o.username),
        realm = c.required('realm', o.realm);
      const nonce = c.required('nonce', o.nonce),
        method = c.required('method', o.method),
        uri = c.required('uri', o.uri);
      const nc = c.required('nc', o.nc),
        cnonce = c.required('cnonce', o.cnonce),
        qop = c.required('qop', o.qop);
      if (o.qop !== undefined && qop !== 'auth' && qop !== 'auth-int') c.problem('--qop: must be auth or auth-int');
      if ((o.password === undefined) === (o.res === undefined)) c.problem('give exactly one of --password and --res');
      const res = o.res !== undefined ? c.hex('res', o.res, [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]) : undefined;
      const algorithm = o.algorithm ?? (o.res !== undefined ? 'AKAv1-MD5' : 'MD5');
      if (!['MD5', 'AKAv1-MD5', 'AKAv2-MD5'].includes(algorithm))
        c.problem('--algorithm: must be AKAv1-MD5 or AKAv2-MD5');
      const ck = algorithm === 'AKAv2-MD5' ? c.hex('ck', o.ck, 16) : undefined;
      const ik = algorithm === 'AKAv2-MD5' ? c.hex('ik', o.ik, 16) : undefined;
      const body = o.bodyHex !== undefined ? c.hex('body-hex', o.bodyHex) : Buffer.alloc(0);
      const responseBody =
        o.responseBodyHex !== undefined ? c.hex('response-body-hex', o.responseBodyHex) : Buffer.alloc(0);
      c.done();
      const password = res
        ? akaPassword(algorithm === 'AKAv2-MD5' ? 'AKAv2-MD5' : 'AKAv1-MD5', res, ck, ik)
        : o.password!;
      const d = computeDigest(
        { username, realm, password, nonce, nc, cnonce, qop: qop as Qop, method, uri, body },
        responseBody,
      );
      printJson(d);
    });
}

export type { MilenageConstants };
