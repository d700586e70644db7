import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // The default include also matches compiled files under dist/: name our folders explicitly.
    include: ['test/**/*.test.ts', 'laws/**/*.test.ts', 'proofs/**/*.test.ts'],
    testTimeout: 60_000,
  },
})
