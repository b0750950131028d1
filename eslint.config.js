// ESLint flat config: eslint's and typescript-eslint's recommended rules, plus a few that catch real mistakes here.
import { registerHooks } from 'node:module';
import js from '@eslint/js';

// The build uses TypeScript 7 (the native compiler), which has no JavaScript compiler API; typescript-eslint needs
// one (TypeScript <= 6.0). `typescript-api` is TypeScript 6 installed under another name; this hook hands it to
// typescript-eslint's own `require('typescript')` calls and leaves every other importer alone.
registerHooks({
  resolve(specifier, context, nextResolve) {
    if (/^typescript(\/|$)/.test(specifier) && /\/node_modules\/(typescript-eslint|@typescript-eslint\/[^/]+|ts-api-utils)\//.test(context.parentURL ?? '')) {
      return nextResolve(specifier.replace(/^typescript/, 'typescript-api'), context);
    }
    return nextResolve(specifier, context);
  },
});
const { default: tseslint } = await import('typescript-eslint');

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-console': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // A promise nobody awaits or catches is an unhandled rejection waiting to happen in a server.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself tracks.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    // Plain Node scripts (the test setup) run outside TypeScript's view.
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    // Tests, benches, examples and the CLI talk to people on the console; library code uses the Logger.
    files: ['test/**', 'bench/**', 'examples/**', 'bin/**'],
    rules: { 'no-console': 'off' },
  },
);
