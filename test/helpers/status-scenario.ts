// A CA with something to report, for the status page and `tether ca status` tests: two
// identities issued with join tokens and one refusal (a join token used a second time).
import path from 'node:path';
import { type CaProcess, initCa, removeDir, startCa, tetherOk } from './ca-process.js';
import { enrollWithToken, type Workload } from './workload.js';

export const WEB = 'spiffe://example.org/ns/shop/sa/web';
export const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';

export interface StatusScenario {
  readonly ca: CaProcess;
  readonly dataDir: string;
  /** Every join token created, plaintext: none may ever appear on the page. */
  readonly tokens: readonly string[];
  readonly web: Workload;
  readonly orders: Workload;
  /** The error the reused token got. */
  readonly refusal: unknown;
  stop(): Promise<void>;
}

export async function startStatusScenario(): Promise<StatusScenario> {
  const dataDir = await initCa();
  const ca = await startCa({ dataDir });
  const token = (id: string) => tetherOk(['ca', 'token', 'create', '--data-dir', dataDir, '--spiffe-id', id]);
  const webToken = await token(WEB);
  const ordersToken = await token(ORDERS);
  const web = await enrollWithToken(ca.address, ca.bundlePem, webToken);
  const orders = await enrollWithToken(ca.address, ca.bundlePem, ordersToken);
  const refusal = await enrollWithToken(ca.address, ca.bundlePem, webToken).then(
    () => null,
    (err: unknown) => err,
  );
  if (!refusal) throw new Error('a reused join token was accepted');
  return {
    ca,
    dataDir,
    tokens: [webToken, ordersToken],
    web,
    orders,
    refusal,
    async stop() {
      await ca.stop();
      removeDir(path.dirname(dataDir));
    },
  };
}
