import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// In development the API and the socket live on a running `fila serve`;
// FILA_URL points at it (default: the server's default listen address).
const target = process.env.FILA_URL ?? 'http://127.0.0.1:3000';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/api': target,
      '/socket.io': { target, ws: true },
    },
  },
  // No source maps in the served build (the server also refuses `*.map`).
  build: { outDir: 'dist', sourcemap: false },
});
