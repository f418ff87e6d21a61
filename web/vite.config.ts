/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// Served by the api under /app/ (api/src/web_app), from the same origin as the api.
export default defineConfig({
  base: "/app/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Every file a request of its own: the content security policy allows no data: URLs.
    assetsInlineLimit: 0,
  },
  server: {
    // `npm run dev`: the api of `cargo xtask up` behind the dev server.
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test-setup.ts"],
  },
});
