// Integration setup: after each test file, no process output may contain a secret (log-sink.ts).
import { afterAll, expect } from 'vitest';
import { drainLeaks } from './log-sink.js';

afterAll(() => {
  expect(drainLeaks(), 'secrets in process output').toEqual([]);
});
