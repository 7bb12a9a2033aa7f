import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration suites start servers and worker pools; on 2 cores running files
    // in parallel only adds noise and flakiness.
    fileParallelism: false,
    pool: 'forks',
  },
});
