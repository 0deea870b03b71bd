// A real `tether ca serve` for the gRPC issuance bench: fresh data dir, the global CSR rate
// limit raised out of the way, a join token good for the whole run. Its log lines (one per
// certificate at info level, as in production) are drained, not kept.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { initCa, removeDir, TETHER_BIN, tetherOk } from '../test/helpers/ca-process.js';

export interface BenchCa {
  readonly address: string;
  readonly bundleFile: string;
  readonly token: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

function waitServing(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`CA did not start in 30 s:\n${buffered}`)), 30_000);
    const onData = (d: Buffer) => {
      buffered += d.toString();
      const line = buffered.split('\n').find((l) => l.includes('"msg":"CA serving"'));
      if (!line) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stdout!.resume(); // keep draining: a full pipe would stall the CA
      resolve(JSON.parse(line).grpcPort as number);
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`CA exited with ${code}:\n${buffered}`)));
  });
}

export async function startBenchCa(): Promise<BenchCa> {
  const dataDir = await initCa();
  const root = path.dirname(dataDir);
  const config = path.join(root, 'ca.yaml');
  writeFileSync(config, 'limits: { csrPerSecond: 1000000, csrBurst: 1000000 }\n');
  // BENCH_CA_CPU_PROF=DIR writes the CA process's V8 CPU profile there (node --cpu-prof) on exit.
  const profileDir = process.env['BENCH_CA_CPU_PROF'];
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      TETHER_BIN,
      'ca',
      'serve',
      '--data-dir',
      dataDir,
      '--config',
      config,
      '--listen',
      '127.0.0.1:0',
      '--metrics-listen',
      '127.0.0.1:0',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TETHER_LOG_LEVEL: 'info' } },
  );
  child.stdout!.on('data', () => {});
  const grpcPort = await waitServing(child);
  const token = await tetherOk([
    'ca',
    'token',
    'create',
    '--data-dir',
    dataDir,
    '--spiffe-id',
    'spiffe://example.org/bench',
    '--uses',
    '100000000',
    '--ttl',
    '1h',
  ]);
  const bundleFile = path.join(root, 'bundle.pem');
  writeFileSync(bundleFile, `${await tetherOk(['ca', 'bundle', '--data-dir', dataDir])}\n`);
  return {
    address: `127.0.0.1:${grpcPort}`,
    bundleFile,
    token,
    child,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      removeDir(root);
    },
  };
}
