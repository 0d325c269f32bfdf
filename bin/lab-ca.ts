/**
 * The lab PKI `up` needs for Ua over HTTPS (TS 33.222 §5.3: the NAF authenticates with a certificate, the UE
 * with GBA HTTP Digest inside the tunnel): a self-signed CA and a NAF server certificate signed by it, made with
 * the `openssl` CLI (Node 20 cannot issue certificates). Keys are P-256 (the NAF's HTTPS suite is
 * TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) and written mode 0600. The files are kept across runs, so a device
 * that trusts the CA once keeps trusting it; a certificate that does not name the configured FQDN is reissued.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';

export interface LabTls {
  dir: string;
  ca: string;
  cert: string;
  key: string;
}

const openssl = (args: string[]): void => {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as Error & { stderr?: Buffer };
    throw new Error(
      `openssl ${args[0]} failed: ${(e.stderr?.toString() || e.message).split('\n')[0]} (is the openssl CLI installed?)`,
    );
  }
};

/** True if the certificate at `file` is valid now, names `fqdn` and was issued by the CA at `caFile`. */
function usable(file: string, caFile: string, fqdn: string): boolean {
  try {
    const cert = new X509Certificate(readFileSync(file));
    const ca = new X509Certificate(readFileSync(caFile));
    const now = Date.now();
    return (
      cert.checkHost(fqdn) !== undefined &&
      cert.checkIssued(ca) &&
      cert.verify(ca.publicKey) &&
      Date.parse(cert.validTo) > now + 86_400_000 &&
      Date.parse(ca.validTo) > now + 86_400_000
    );
  } catch {
    return false;
  }
}

/** Creates (or reuses) `<stateDir>/tls/{ca.pem,ca-key.pem,naf.pem,naf-key.pem}` for the NAF FQDN. */
export function ensureLabTls(stateDir: string, nafFqdn: string): LabTls {
  const dir = join(stateDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const f = {
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    cert: join(dir, 'naf.pem'),
    key: join(dir, 'naf-key.pem'),
  };
  if (!existsSync(f.ca) || !existsSync(f.caKey)) {
    openssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-sha256',
      '-days',
      '825',
      '-keyout',
      f.caKey,
      '-out',
      f.ca,
      '-subj',
      '/O=gba-sim/CN=gba-sim lab CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    rmSync(f.cert, { force: true });
  }
  chmodSync(f.caKey, 0o600);
  if (!existsSync(f.key) || !usable(f.cert, f.ca, nafFqdn)) {
    const csr = join(dir, 'naf.csr');
    const ext = join(dir, 'naf.ext');
    // RFC 6125: the name is checked in subjectAltName; 127.0.0.1 and localhost too, for labs that use them.
    writeFileSync(
      ext,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        `subjectAltName=DNS:${nafFqdn},DNS:localhost,IP:127.0.0.1`,
        '',
      ].join('\n'),
    );
    openssl([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      f.key,
      '-out',
      csr,
      '-subj',
      `/O=gba-sim/CN=${nafFqdn}`,
    ]);
    openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      f.ca,
      '-CAkey',
      f.caKey,
      '-set_serial',
      `0x${Date.now().toString(16)}`,
      '-sha256',
      '-days',
      '397',
      '-extfile',
      ext,
      '-out',
      f.cert,
    ]);
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
  chmodSync(f.key, 0o600);
  return { dir, ca: f.ca, cert: f.cert, key: f.key };
}
