// One linter for the whole workspace: typescript-eslint's recommended rules plus a few that keep
// boundaries honest (no `any`, no floating promises are checked by tsc + review, not here).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

export default tseslint.config(
  { ignores: ["**/node_modules/**", "**/dist/**", "artifacts/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: "readonly",
        process: "readonly",
        Buffer: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        URL: "readonly",
        TextEncoder: "readonly",
        TextDecoder: "readonly",
        WebSocket: "readonly",
        fetch: "readonly",
        document: "readonly",
        window: "readonly",
        navigator: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    // Pages served to browsers: the daemon's own pages and the integration examples.
    files: ["daemon/web/**/*.js", "docs/examples/**/*.js"],
    languageOptions: { globals: { ...globals.browser } },
  },
);
