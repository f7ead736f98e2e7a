import { fileURLToPath, URL } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vitest/config';

const src = (path: string): string => fileURLToPath(new URL(`./src/${path}`, import.meta.url));

// Set by the Tauri CLI when it runs `npm run dev` / `npm run build` for a debug build.
const tauriDebug = Boolean(process.env.TAURI_ENV_DEBUG);

export default defineConfig({
  // Relative asset URLs so the bundle loads from tauri://localhost (and from file paths).
  base: './',
  plugins: [svelte(), svelteTesting()],
  resolve: {
    alias: {
      $lib: src('lib'),
      $components: src('components'),
      $features: src('features'),
    },
  },
  // Keep Rust/Tauri CLI output visible in the same terminal.
  clearScreen: false,
  server: {
    // tauri.conf.json's devUrl is http://localhost:5173: fail rather than drift to another port.
    port: 5173,
    strictPort: true,
    host: 'localhost',
  },
  preview: {
    port: 4173,
    strictPort: true,
  },
  envPrefix: ['VITE_', 'TAURI_ENV_'],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Never turn small assets into data: URIs, so the CSP needs no `data:` source.
    assetsInlineLimit: 0,
    // One stylesheet file: no runtime <style> injection, so no 'unsafe-inline' for styles.
    cssCodeSplit: false,
    sourcemap: tauriDebug,
    minify: tauriDebug ? false : 'esbuild',
    reportCompressedSize: false,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['./src/test/setup.ts'],
    // Times in tests are written for UTC, whatever the machine's zone.
    env: { TZ: 'UTC' },
    restoreMocks: true,
  },
});
