// Interop: third-party TLS peers against the sidecar, with identities from the real CA.
//   - curl (OpenSSL backend, HTTP/1.1 and HTTP/2) as an mTLS client of an http inbound listener;
//   - openssl s_client probing the inbound's TLS version and cipher policy;
//   - nginx as an mTLS server behind an http outbound listener that checks the server's SPIFFE ID.
// Needs Debian's curl, openssl and nginx (bookworm: `nginx`; `nginx-light` is only a transitional
// package that pulls it in). Without them the suite fails, it does not skip. All traffic stays
// on 127.0.0.1; every child process is time-bounded and stopped in afterAll.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../helpers/ca-process.js';
import {
  certsFromSClient,
  describeRun,
  type IdentityFiles,
  metricSamples,
  metricSum,
  type NginxProcess,
  type RunResult,
  run,
  sha256Hex,
  spkiPin,
  startNginx,
  uriSans,
  writeIdentity,
} from '../helpers/interop.js';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';
import { enrollWithToken, type Workload } from '../helpers/workload.js';

const WEB_ID = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS_ID = 'spiffe://example.org/ns/shop/sa/orders';
const OTHER_ID = 'spiffe://example.org/ns/other/sa/x';
const WRONG_ID = 'spiffe://example.org/ns/shop/sa/wrong';
const HANDSHAKES = 'tether_sidecar_handshakes_total';

let mesh: Mesh | undefined;
let app: Awaited<ReturnType<typeof startEchoApp>> | undefined;
let work: string | undefined;
/** The sidecar under test for inbound traffic: identity ORDERS_ID, two http inbound listeners. */
let inboundSidecar: SidecarProcess | undefined;
let ordersPort: number; // inbound "orders": TLS 1.3 only (the default)
let legacyPort: number; // inbound "legacy": tls.minVersion "1.2"

/** Enrolls `id` straight from the CA (no sidecar) and writes its key and chain under work/<name>. */
async function enrollFiles(id: string, name: string): Promise<{ workload: Workload; files: IdentityFiles }> {
  const token = readFileSync(await mesh!.tokenFile(id), 'utf8').trim();
  const workload = await enrollWithToken(mesh!.ca.address, mesh!.ca.bundlePem, token);
  return { workload, files: writeIdentity(path.join(work!, name), workload) };
}

/** `openssl s_client` to 127.0.0.1:`port`, verifying the server chain against the bundle. */
function sClient(port: number, args: string[], o: { client?: IdentityFiles; input?: string } = {}) {
  const clientArgs = o.client
    ? [
        '-cert',
        o.client.leaf,
        '-key',
        o.client.key,
        ...(o.client.intermediates ? ['-cert_chain', o.client.intermediates] : []),
      ]
    : [];
  return run(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-CAfile',
      mesh!.bundleFile,
      '-verify_return_error',
      '-x509_strict',
      '-purpose',
      'sslserver',
      ...clientArgs,
      // With a request to send, -brief keeps the session dump off stdout (the summary goes to
      // stderr) and -ign_eof waits for the response instead of quitting at the end of the input.
      ...(o.input !== undefined ? ['-brief', '-ign_eof'] : []),
      ...args,
    ],
    { input: o.input ?? '', timeoutMs: 15_000 },
  );
}

const httpRequest = (p: string) => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;

beforeAll(async () => {
  mesh = await startMesh();
  work = tempDir('tether-interop-peers-');
  app = await startEchoApp();
  const forward = `127.0.0.1:${app.port}`;
  inboundSidecar = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS_ID),
      inbound: [
        `{ name: orders, listen: 127.0.0.1:0, forward: ${forward}, protocol: http, allow: [${WEB_ID}] }`,
        `{ name: legacy, listen: 127.0.0.1:0, forward: ${forward}, protocol: http, allow: [${WEB_ID}], tls: { minVersion: "1.2" } }`,
      ],
    }),
  );
  ordersPort = inboundSidecar.ports['inbound.orders']!;
  legacyPort = inboundSidecar.ports['inbound.legacy']!;
  expect(ordersPort).toBeGreaterThan(0);
  expect(legacyPort).toBeGreaterThan(0);
});

afterAll(async () => {
  await inboundSidecar?.stop();
  if (inboundSidecar) removeDir(inboundSidecar.dir);
  await app?.close();
  await mesh?.stop();
  if (work) removeDir(work);
});

describe('curl → inbound (http mode)', () => {
  let web: { workload: Workload; files: IdentityFiles };
  let other: { workload: Workload; files: IdentityFiles };
  let serverPin: string;

  // The inbound's certificate is an X.509-SVID: its only name is a SPIFFE URI SAN, no DNS or IP
  // SAN. curl 7.88 cannot verify such a server: with --cacert it also matches the URL's host
  // against DNS/IP SANs and fails (exit 60), and it has no switch that keeps chain verification
  // while skipping only the host-name match. So the server is authenticated in two steps:
  //   1. `openssl s_client -verify_return_error -x509_strict -purpose sslserver -CAfile bundle`
  //      verifies the chain the listener presents, and we check its single URI SAN is ORDERS_ID;
  //   2. curl runs with --insecure (which turns off curl's chain AND host-name checks) but with
  //      --pinnedpubkey set to that verified leaf's public key, so curl still aborts unless the
  //      server proves possession of exactly that key (the "wrong pin" test shows it does).
  // --cacert is passed anyway; with --insecure it is not enforced. The first test below shows
  // that without --insecure curl indeed fails on the host name, not on the chain.
  beforeAll(async () => {
    web = await enrollFiles(WEB_ID, 'web');
    other = await enrollFiles(OTHER_ID, 'other');
    const r = await sClient(ordersPort, ['-showcerts'], { client: web.files });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toMatch(/Verify return code: 0 \(ok\)/);
    const leaf = certsFromSClient(r.stdout)[0]!;
    expect(uriSans(leaf)).toEqual([ORDERS_ID]);
    expect(leaf.subjectAltName).not.toMatch(/DNS:|IP Address:/); // why curl cannot name-check it
    serverPin = spkiPin(leaf);
  });

  interface CurlResult extends RunResult {
    statusLine: string;
    status: number;
    headers: Record<string, string>;
    body: string;
  }

  async function curl(
    args: string[],
    o: { client?: IdentityFiles | null; pin?: string } = {},
  ): Promise<CurlResult> {
    const client = o.client === undefined ? web.files : o.client;
    const r = await run(
      'curl',
      [
        '--silent',
        '--show-error',
        '--noproxy',
        '*',
        '--max-time',
        '10',
        '--dump-header',
        '-',
        '--cacert',
        mesh!.bundleFile,
        '--insecure',
        '--pinnedpubkey',
        o.pin ?? serverPin,
        ...(client ? ['--cert', client.chain, '--key', client.key] : []),
        ...args,
      ],
      { timeoutMs: 15_000 },
    );
    const split = r.stdout.indexOf('\r\n\r\n');
    const head = split >= 0 ? r.stdout.slice(0, split) : '';
    const [statusLine = '', ...lines] = head.split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    return {
      ...r,
      statusLine: statusLine.trim(),
      status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine)?.[1] ?? 0),
      headers,
      body: split >= 0 ? r.stdout.slice(split + 4) : '',
    };
  }

  const url = (p: string) => `https://127.0.0.1:${ordersPort}${p}`;

  it('curl alone cannot verify a SPIFFE-only server: without --insecure it fails on the host name', async () => {
    const r = await run('curl', [
      '--silent',
      '--show-error',
      '--noproxy',
      '*',
      '--max-time',
      '10',
      '--cacert',
      mesh!.bundleFile,
      '--cert',
      web.files.chain,
      '--key',
      web.files.key,
      url('/no-insecure'),
    ]);
    expect(r.code, describeRun(r)).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
    // curl's host-name check (after the chain passed): with no DNS/IP SAN it falls back to the
    // subject CN, which an X.509-SVID does not have.
    expect(r.stderr).toMatch(/unable to obtain common name from peer certificate/);
  });

  it('proxies an allowed client over HTTP/1.1 with XFCC naming its SPIFFE ID and certificate hash', async () => {
    const r = await curl(['--http1.1', url('/orders/42?x=1')]);
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.statusLine).toMatch(/^HTTP\/1\.1 200/);
    const body = JSON.parse(r.body) as { path: string; xfcc: string };
    expect(body.path).toBe('/orders/42?x=1');
    expect(body.xfcc).toBe(`By=${ORDERS_ID};Hash=${sha256Hex(web.workload.leaf.raw)};URI=${WEB_ID}`);
  });

  it('replaces an x-forwarded-client-cert header sent by the client', async () => {
    const forged = 'By=spiffe://example.org/ns/evil/sa/x;Hash=00;URI=spiffe://example.org/ns/shop/sa/admin';
    const before = app!.seen.length;
    const r = await curl(['--http1.1', '-H', `x-forwarded-client-cert: ${forged}`, url('/forged')]);
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.status).toBe(200);
    const seen = app!.seen.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]!['x-forwarded-client-cert']).toBe(
      `By=${ORDERS_ID};Hash=${sha256Hex(web.workload.leaf.raw)};URI=${WEB_ID}`,
    );
    expect(JSON.stringify(seen[0])).not.toContain('evil');
  });

  it('speaks HTTP/2 negotiated by ALPN', async () => {
    const r = await curl([
      '--http2',
      '-H',
      'x-forwarded-client-cert: URI=spiffe://example.org/ns/evil/sa/x',
      url('/h2'),
    ]);
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.statusLine).toMatch(/^HTTP\/2 200/);
    const body = JSON.parse(r.body) as { path: string; xfcc: string };
    expect(body.path).toBe('/h2');
    expect(body.xfcc).toBe(`By=${ORDERS_ID};Hash=${sha256Hex(web.workload.leaf.raw)};URI=${WEB_ID}`);
  });

  it('relays HTTP/2 request bodies with and without content-length to the HTTP/1.1 workload', async () => {
    const session = http2.connect(`https://127.0.0.1:${ordersPort}`, {
      ca: readFileSync(mesh!.bundleFile),
      cert: readFileSync(web.files.chain),
      key: readFileSync(web.files.key),
      checkServerIdentity: () => undefined,
    });
    const post = (headers: http2.OutgoingHttpHeaders, parts: string[]) =>
      new Promise<{ status: number; body: { method: string; body: string } }>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/h2-body', ...headers });
        let status = 0;
        let text = '';
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', (c: Buffer) => (text += c.toString()));
        stream.on('end', () => resolve({ status, body: JSON.parse(text) }));
        stream.on('error', reject);
        for (const part of parts) stream.write(part);
        stream.end();
      });
    try {
      const big = 'x'.repeat(100_000);
      const unknownLength = await post({}, ['first,', big, ',last']);
      expect(unknownLength.status).toBe(200);
      expect(unknownLength.body.body).toBe(`first,${big},last`);
      const known = await post({ 'content-length': '5' }, ['hello']);
      expect(known).toMatchObject({ status: 200, body: { method: 'POST', body: 'hello' } });
      expect(app!.seen.at(-2)!['transfer-encoding']).toBe('chunked');
      expect(app!.seen.at(-1)!['content-length']).toBe('5');
    } finally {
      session.close();
    }
  });

  it('still authenticates the server: a pin for another key makes curl abort', async () => {
    const before = app!.seen.length;
    const r = await curl(['--http1.1', url('/wrong-pin')], { pin: spkiPin(web.workload.leaf) });
    expect(r.code, describeRun(r)).toBe(90); // CURLE_SSL_PINNEDPUBKEYNOTMATCH
    expect(app!.seen.length).toBe(before);
  });

  it('refuses a client without a certificate', async () => {
    const refused = () =>
      inboundSidecar!
        .metrics()
        .then((m) =>
          metricSum(m, HANDSHAKES, { direction: 'inbound', listener: 'orders', result: 'refused' }),
        );
    const before = { seen: app!.seen.length, refused: await refused() };
    for (const version of ['--http1.1', '--http2']) {
      const r = await curl([version, url('/anonymous')], { client: null });
      expect(r.code === 0 && r.status === 200, describeRun(r)).toBe(false);
      expect(r.code, describeRun(r)).not.toBe(0);
    }
    expect(app!.seen.length).toBe(before.seen);
    const m = await inboundSidecar!.metrics();
    expect(await refused()).toBe(before.refused + 2);
    expect(
      metricSum(m, HANDSHAKES, {
        direction: 'inbound',
        listener: 'orders',
        result: 'refused',
        reason: 'no_client_certificate',
      }),
    ).toBeGreaterThanOrEqual(2);
  });

  // HTTP/2 is listed separately: the refusal must carry the same reason whatever the protocol.
  for (const version of ['--http1.1', '--http2']) {
    it(`answers 403 with x-tether-reason to a verified client whose SPIFFE ID is not allowed (${version})`, async () => {
      const denied = async () =>
        metricSum(await inboundSidecar!.metrics(), 'tether_sidecar_authz_denied_total', {
          listener: 'orders',
          reason: 'spiffe_id_not_allowed',
        });
      const before = { seen: app!.seen.length, denied: await denied() };
      const r = await curl([version, url('/not-for-you')], { client: other.files });
      expect(r.code, describeRun(r)).toBe(0);
      expect(r.status, describeRun(r)).toBe(403);
      expect(r.headers['x-tether-reason']).toBe('spiffe_id_not_allowed');
      expect(r.body).toContain(OTHER_ID);
      expect(app!.seen.length).toBe(before.seen);
      expect(await denied()).toBe(before.denied + 1);
    });
  }
});

describe('openssl s_client → inbound TLS policy', () => {
  let web: IdentityFiles;
  const failed = async (listener: string) =>
    metricSum(await inboundSidecar!.metrics(), HANDSHAKES, {
      direction: 'inbound',
      listener,
      result: 'failed',
    });

  beforeAll(async () => {
    web = (await enrollFiles(WEB_ID, 'web-sclient')).files;
  });

  it('a TLS 1.3-only listener completes TLS 1.3 but refuses a TLS 1.2 handshake, and counts it', async () => {
    const ok = await sClient(ordersPort, ['-tls1_3'], { client: web, input: httpRequest('/tls13') });
    expect(ok.code, describeRun(ok)).toBe(0);
    expect(ok.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(ok.stderr).toMatch(/^Protocol version: TLSv1\.3$/m);
    expect(ok.stderr).toMatch(/^Verification: OK$/m);

    const before = await failed('orders');
    const r = await sClient(ordersPort, ['-tls1_2'], { client: web, input: httpRequest('/tls12') });
    expect(r.code, describeRun(r)).not.toBe(0);
    expect(r.stdout).not.toMatch(/HTTP\/1\.1 200/);
    expect(r.stderr).not.toMatch(/CONNECTION ESTABLISHED/);
    const m = await inboundSidecar!.metrics();
    expect(await failed('orders'), metricSamples(m, HANDSHAKES).join('\n')).toBe(before + 1);
    expect(
      metricSum(m, HANDSHAKES, {
        listener: 'orders',
        result: 'failed',
        reason: 'err_ssl_unsupported_protocol',
      }),
      metricSamples(m, HANDSHAKES).join('\n'),
    ).toBe(1);
  });

  it('a listener with minVersion 1.2 accepts ECDHE-ECDSA-AES128-GCM-SHA256 and refuses AES128-SHA', async () => {
    const ok = await sClient(legacyPort, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES128-GCM-SHA256'], {
      client: web,
      input: httpRequest('/legacy'),
    });
    expect(ok.code, describeRun(ok)).toBe(0);
    expect(ok.stderr).toMatch(/^Protocol version: TLSv1\.2$/m);
    expect(ok.stderr).toMatch(/^Ciphersuite: ECDHE-ECDSA-AES128-GCM-SHA256$/m);
    expect(ok.stderr).toMatch(/^Verification: OK$/m);
    expect(ok.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(ok.stdout).toContain(`URI=${WEB_ID}`);

    const before = await failed('legacy');
    const r = await sClient(legacyPort, ['-tls1_2', '-cipher', 'AES128-SHA'], {
      client: web,
      input: httpRequest('/legacy-weak'),
    });
    expect(r.code, describeRun(r)).not.toBe(0);
    expect(r.stdout).not.toMatch(/HTTP\/1\.1 200/);
    expect(r.stderr).not.toMatch(/CONNECTION ESTABLISHED/);
    const m = await inboundSidecar!.metrics();
    expect(await failed('legacy'), metricSamples(m, HANDSHAKES).join('\n')).toBe(before + 1);
    expect(
      metricSum(m, HANDSHAKES, { listener: 'legacy', result: 'failed', reason: 'err_ssl_no_shared_cipher' }),
    ).toBe(1);
  });
});

describe('outbound → nginx (mTLS server outside the mesh)', () => {
  let nginx: NginxProcess | undefined;
  let webSidecar: SidecarProcess | undefined;
  let nginxDir: string;

  beforeAll(async () => {
    const { files } = await enrollFiles(ORDERS_ID, 'nginx-identity');
    nginxDir = path.join(work!, 'nginx');
    nginx = await startNginx(nginxDir, files, mesh!.bundleFile);
    const upstream = `127.0.0.1:${nginx.port}`;
    webSidecar = await startSidecar(
      sidecarYaml({
        caAddress: mesh!.ca.address,
        bundleFile: mesh!.bundleFile,
        tokenFile: await mesh!.tokenFile(WEB_ID),
        outbound: [
          `{ name: orders, listen: 127.0.0.1:0, upstream: ${upstream}, protocol: http, serverId: ${ORDERS_ID} }`,
          `{ name: wrong, listen: 127.0.0.1:0, upstream: ${upstream}, protocol: http, serverId: ${WRONG_ID} }`,
        ],
      }),
    );
  });

  afterAll(async () => {
    await webSidecar?.stop();
    if (webSidecar) removeDir(webSidecar.dir);
    await nginx?.stop(); // its prefix dir lives under work/, removed with it
  });

  const get = (listener: string, p: string) =>
    fetch(`http://127.0.0.1:${webSidecar!.ports[`outbound.${listener}`]}${p}`, {
      signal: AbortSignal.timeout(10_000),
    });

  it('reaches nginx over mTLS when nginx presents the expected SPIFFE ID', async () => {
    const res = await get('orders', '/hello');
    const body = await res.text();
    expect(res.status, `${body}\n${nginx!.errorLog()}`).toBe(200);
    expect(res.headers.get('x-client-verify')).toBe('SUCCESS');
    expect(res.headers.get('x-ssl-protocol')).toBe('TLSv1.3');
    // nginx saw the web sidecar's current certificate.
    const clientCert = new X509Certificate(decodeURIComponent(body));
    expect(uriSans(clientCert)).toEqual([WEB_ID]);
    const certs = await webSidecar!.certs();
    expect(clientCert.serialNumber.toLowerCase().replace(/^0+/, '')).toBe(
      certs.serial.toLowerCase().replace(/:/g, '').replace(/^0+/, ''),
    );
    expect(nginx!.accessLog()).toContain('/hello 200 SUCCESS TLSv1.3');
  });

  it('answers 502 and never completes a request when nginx is not the configured serverId', async () => {
    const res = await get('wrong', '/wrong');
    const body = await res.text();
    expect(res.status, body).toBe(502);
    expect(res.headers.get('x-tether-reason')).toBe('server_id_mismatch');
    expect(body).toContain(`upstream presented ${ORDERS_ID}, expected ${WRONG_ID}`);
    expect(nginx!.accessLog().filter((l) => l.startsWith('/wrong'))).toEqual([]);
    // The sidecar's log line may land just after the response (asynchronous logger): poll briefly.
    await expect
      .poll(() => webSidecar!.logs().some((l) => l['code'] === 'ERR_TETHER_WRONG_SERVER_ID'), {
        timeout: 5_000,
      })
      .toBe(true);
  });
});
