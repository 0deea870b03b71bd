import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: [
            'ca/**/*.test.ts',
            'sidecar/**/*.test.ts',
            'common/**/*.test.ts',
            'test/docs/**/*.test.ts',
          ],
          setupFiles: ['test/helpers/setup.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/interop/**/*.test.ts', 'test/faults/**/*.test.ts'],
          setupFiles: ['test/helpers/setup.ts', 'test/helpers/log-sink-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
