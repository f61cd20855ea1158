// ESLint flat config: type-aware typescript-eslint rules over the TypeScript sources.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'dashboards/**', 'alerts/**', 'manifests/**', 'docs/**'] },
  {
    files: ['agent/**/*.ts', 'scripts/**/*.{ts,mjs}', 'bench/**/*.ts', 'test/**/*.ts', 'bin/**/*.js'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // The JS entry points are outside tsconfig.json; they get TypeScript's default project.
        projectService: { allowDefaultProject: ['bin/*.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      'no-console': 'off',
      // A variable a closure reads before its one later assignment can't be const (the closure would hit the TDZ).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // async bodies without await implement Promise-returning interfaces (kube client, fakes) and turn throws into rejections.
      '@typescript-eslint/require-await': 'off',
      // node:test's test()/describe() return promises the runner itself tracks.
      '@typescript-eslint/no-floating-promises': ['error', {
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }],
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', {
        args: 'after-used', argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_',
      }],
    },
  },
  {
    // What serve loads is part of its memory: see test/cli/serve-modules.test.ts and docs/metrics.md (memory).
    files: ['agent/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [
          { name: 'node:http', allowTypeImports: true, message: "use process.getBuiltinModule('node:http'): the ESM facade of node:http loads undici and http2" },
          { name: 'node:https', allowTypeImports: true, message: 'load node:https where a request needs it (TLS and crypto)' },
          { name: 'node:crypto', allowTypeImports: true, message: 'node:crypto costs about 3.5 MiB resident; load it where it is needed' },
          { name: 'yaml', allowTypeImports: true, message: 'the yaml library is loaded by config.ts when a config text is parsed' },
        ],
      }],
      'no-restricted-properties': ['error', {
        property: 'localeCompare', message: 'use compareText (parse/values.ts): localeCompare builds an ICU collator, about 3 MiB resident',
      }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests parse JSON from fixtures and fake servers into `any` and assert on it.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // ...and stringify fields of that parsed JSON (typed unknown) in names and messages.
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // This file itself is in no project: syntax-level rules only.
    files: ['eslint.config.js'],
    extends: [tseslint.configs.recommended],
  },
);
