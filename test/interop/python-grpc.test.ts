// Interop: a gRPC client that is not grpc-js (gRPC C-core via Debian's python3-grpcio) obtains an
// X.509-SVID from the real `tether ca serve` over TLS, compiling the repo's proto at test time.
// Needs Debian's python3-grpcio, python3-grpc-tools (pulls in python3-protobuf) and
// python3-cryptography under /usr/bin/python3; without them the suite fails, it does not skip.
import { execFile } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CaProcess,
  initCa,
  REPO_ROOT,
  removeDir,
  startCa,
  tempDir,
  tetherOk,
} from '../helpers/ca-process.js';

const PYTHON = '/usr/bin/python3';
const DEBIAN_PACKAGES = ['python3-grpcio', 'python3-grpc-tools', 'python3-cryptography'];
const CLIENT = path.join(REPO_ROOT, 'test/interop/python/sign_certificate.py');
const PROTO_ROOT = path.join(REPO_ROOT, 'proto');
const PYTHON_ID = 'spiffe://example.org/ns/interop/sa/python';

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface ClientOutput {
  spiffe_id: string;
  expires_at_unix: number;
  chain_len: number;
  response_bundle_roots: number;
  leaf_key_matches_csr: boolean;
  bundle_sequence: number;
  bundle_roots: number;
}

/** The environment for Debian's interpreter: nothing from another Python may leak in. */
function pythonEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONNOUSERSITE: '1' };
  delete env['PYTHONPATH'];
  delete env['PYTHONHOME'];
  delete env['PYTHONSTARTUP'];
  return env;
}

function run(file: string, args: string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { env: env ?? process.env, timeout: 30_000 }, (err, stdout, stderr) => {
      let code = 0;
      if (err) code = typeof err.code === 'number' ? err.code : -1; // -1: spawn failure or timeout
      resolve({ code, stdout, stderr: err && code === -1 ? `${stderr}\n${err.message}` : stderr });
    });
  });
}

const describeRun = (r: RunResult) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

let ca: CaProcess | undefined;
let dataDir: string | undefined;
let work: string;
let stubs: string;
let bundleFile: string;
let runs = 0;

async function newToken(): Promise<string> {
  return tetherOk(['ca', 'token', 'create', '--data-dir', dataDir!, '--spiffe-id', PYTHON_ID]);
}

/** Runs the Python client with `token`; each run gets its own output directory. */
async function runClient(token: string): Promise<RunResult & { outDir: string }> {
  runs += 1;
  const outDir = path.join(work, `out-${runs}`);
  const tokenFile = path.join(work, `token-${runs}`);
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const r = await run(
    PYTHON,
    [
      CLIENT,
      '--address',
      ca!.address,
      '--bundle',
      bundleFile,
      '--join-token-file',
      tokenFile,
      '--out-dir',
      outDir,
      '--stubs',
      stubs,
    ],
    pythonEnv(),
  );
  return { ...r, outDir };
}

function parseOutput(r: RunResult): ClientOutput {
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ClientOutput;
  } catch {
    throw new Error(`the Python client printed no JSON line:\n${describeRun(r)}`);
  }
}

beforeAll(async () => {
  const probe = await run(
    PYTHON,
    ['-c', 'import grpc, grpc_tools.protoc, google.protobuf, cryptography; print(grpc.__version__)'],
    pythonEnv(),
  );
  if (probe.code !== 0) {
    throw new Error(
      `${PYTHON} cannot import grpc, grpc_tools, google.protobuf and cryptography. ` +
        `Install Debian's packages (as root): apt-get update && apt-get install -y ${DEBIAN_PACKAGES.join(' ')}\n` +
        describeRun(probe),
    );
  }

  work = tempDir('tether-interop-python-');
  stubs = path.join(work, 'stubs');
  mkdirSync(stubs); // protoc does not create its output directory
  const protoc = await run(
    PYTHON,
    [
      '-m',
      'grpc_tools.protoc',
      `-I${PROTO_ROOT}`,
      `--python_out=${stubs}`,
      `--grpc_python_out=${stubs}`,
      'tether/ca/v1/ca.proto',
    ],
    pythonEnv(),
  );
  if (protoc.code !== 0) throw new Error(`grpc_tools.protoc failed:\n${describeRun(protoc)}`);

  dataDir = await initCa();
  ca = await startCa({ dataDir });
  bundleFile = path.join(work, 'bundle.pem');
  writeFileSync(bundleFile, ca.bundlePem);
});

afterAll(async () => {
  await ca?.stop();
  if (dataDir) removeDir(path.dirname(dataDir));
  if (work) removeDir(work);
});

describe('python3-grpcio (gRPC C-core) client against tether ca serve', () => {
  it('redeems a join token and gets a chain that openssl verifies for client use', async () => {
    const r = await runClient(await newToken());
    expect(r.code, describeRun(r)).toBe(0);
    const out = parseOutput(r);
    expect(out.spiffe_id).toBe(PYTHON_ID);
    expect(out.chain_len).toBeGreaterThanOrEqual(2);
    expect(out.leaf_key_matches_csr).toBe(true);
    expect(out.response_bundle_roots).toBeGreaterThanOrEqual(1);
    expect(out.bundle_sequence).toBeGreaterThanOrEqual(1);
    expect(out.bundle_roots).toBeGreaterThanOrEqual(1);

    const certs = splitPem(readFileSync(path.join(r.outDir, 'chain.pem'), 'utf8'));
    expect(certs).toHaveLength(out.chain_len);
    const leaf = new X509Certificate(certs[0]!);
    expect(leaf.subjectAltName).toBe(`URI:${PYTHON_ID}`);
    expect(leaf.ca).toBe(false);
    expect(out.expires_at_unix).toBe(Math.floor(Date.parse(leaf.validTo) / 1000));
    expect(out.expires_at_unix).toBeGreaterThan(Date.now() / 1000);
    expect(leaf.checkPrivateKey(createPrivateKey(readFileSync(path.join(r.outDir, 'key.pem'))))).toBe(true);

    const leafFile = path.join(r.outDir, 'leaf.pem');
    const untrustedFile = path.join(r.outDir, 'intermediates.pem');
    writeFileSync(leafFile, certs[0]!);
    writeFileSync(untrustedFile, certs.slice(1).join(''));
    const v = await run('openssl', [
      'verify',
      '-x509_strict',
      '-purpose',
      'sslclient',
      '-CAfile',
      bundleFile,
      '-untrusted',
      untrustedFile,
      leafFile,
    ]);
    expect(v.code, describeRun(v)).toBe(0);
    expect(v.stdout).toContain(`${leafFile}: OK`);
  });

  it('gets UNAUTHENTICATED (exit 3) for a reused token and for a malformed one', async () => {
    const token = await newToken();
    const first = await runClient(token);
    expect(first.code, describeRun(first)).toBe(0);

    const reused = await runClient(token);
    expect(reused.code, describeRun(reused)).toBe(3);
    expect(reused.stderr).toContain('UNAUTHENTICATED');
    expect(reused.stderr).toContain('tether-error-code: ERR_CREDENTIAL_INVALID');
    expect(reused.stdout).toBe('');

    const malformed = await runClient('tjt_not-a-real-token');
    expect(malformed.code, describeRun(malformed)).toBe(3);
    expect(malformed.stderr).toContain('UNAUTHENTICATED');
  });

  it('keeps serving after the refusals: a fresh token still succeeds', async () => {
    expect(ca!.child.exitCode).toBeNull();
    const r = await runClient(await newToken());
    expect(r.code, describeRun(r)).toBe(0);
    expect(parseOutput(r).spiffe_id).toBe(PYTHON_ID);
  });
});
