import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

export default [
	{ ignores: ['.tmp/**', 'demo-output/**', 'dist/**'] },
	...configWithoutCloudSupport,
	{
		rules: {
			// This is a self-hosted community package, not a verified (n8n Cloud) one: exporting to
			// S3, Azure, GCS and SFTP needs each store's SDK, and writing Parquet needs a real
			// Parquet writer, so the package must ship runtime dependencies. Every other rule stays on.
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
		},
	},
	{
		// Command-line scripts, benchmarks and tests print their results; the shipped code
		// (nodes/, credentials/, lib/) keeps n8n's no-console rule.
		// They also start processes (servers, n8n, npm pack), which the package itself never does.
		files: ['scripts/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
		rules: { 'no-console': 'off', '@n8n/community-nodes/no-dangerous-functions': 'off' },
	},
];
