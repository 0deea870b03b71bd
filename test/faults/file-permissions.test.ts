// Files that hold secrets are private: the CA data dir is 0700, every key file and the store are
// 0600 (also after rotations), and a sidecar's key file is 0600 with its directory 0700.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mesh, sidecarYaml, startMesh } from '../helpers/mesh.js';
import { type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8).padStart(3, '0');

let mesh: Mesh;
let sidecar: SidecarProcess;
let filesDir = '';

beforeAll(async () => {
  mesh = await startMesh('', ['--token-listen', '127.0.0.1:0']);
  filesDir = path.join(mesh.dir, 'identity');
  sidecar = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile('spiffe://example.org/ns/files/sa/app'),
      extra: `files: { dir: ${filesDir}, mode: "0644" }`,
    }),
  );
});

afterAll(async () => {
  await sidecar?.stop();
  await mesh?.stop();
});

describe('CA data dir', () => {
  it('is 0700, and so is its keys directory', () => {
    expect(mode(mesh.dataDir)).toBe('700');
    expect(mode(path.join(mesh.dataDir, 'keys'))).toBe('700');
  });

  it('holds every key file at 0600', () => {
    const keys = readdirSync(path.join(mesh.dataDir, 'keys'));
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const k of keys) expect(`${k} ${mode(path.join(mesh.dataDir, 'keys', k))}`).toBe(`${k} 600`);
  });

  it('holds the store (token hashes, issuance records) at 0600', () => {
    for (const f of readdirSync(mesh.dataDir).filter((f) => f.startsWith('tether.db')))
      expect(`${f} ${mode(path.join(mesh.dataDir, f))}`).toBe(`${f} 600`);
  });
});

describe('sidecar identity files', () => {
  it('writes key.pem at 0600 in a 0700 directory whatever files.mode says', () => {
    expect(mode(filesDir)).toBe('700');
    expect(mode(path.join(filesDir, 'key.pem'))).toBe('600');
    expect(mode(path.join(filesDir, 'cert.pem'))).toBe('644');
  });

  it('leaves no temporary files behind from its atomic writes', () => {
    expect(readdirSync(filesDir).sort()).toEqual(['bundle.pem', 'cert.pem', 'key.pem']);
  });
});
