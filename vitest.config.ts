import { defineConfig } from 'vitest/config';

// Integration tests start real processes; they get longer timeouts than unit tests,
// but every wait inside a test is a poll with its own deadline, never a bare sleep.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
