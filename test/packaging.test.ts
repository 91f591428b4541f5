/**
 * What the published package holds, by `npm pack --dry-run` after a build as n8n builds community
 * nodes: the compiled nodes and credentials package.json names, README and LICENSE, and nothing
 * that is not for n8n (no tests, no sample generator, no TypeScript sources, no source maps).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(__dirname, '..');

describe('the packed package', () => {
	it('holds what n8n loads and nothing else', { timeout: 180_000 }, () => {
		execFileSync('npx', ['n8n-node', 'build'], { cwd: root, stdio: 'ignore' });
		const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' })) as { files: { path: string }[] }[];
		const files = packed[0].files.map((f) => f.path);
		const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { n8n: { nodes: string[]; credentials: string[] }; license: string; main?: string };
		for (const needed of ['package.json', 'README.md', 'LICENSE', ...pkg.n8n.nodes, ...pkg.n8n.credentials]) {
			assert.ok(files.includes(needed), `${needed} is in the package`);
		}
		assert.equal(pkg.license, 'MIT');
		assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /^MIT License/);
		if (pkg.main) assert.ok(files.includes(pkg.main), `main (${pkg.main}) is in the package`);
		const stray = files.filter((f) => /\.map$/.test(f) || (/\.ts$/.test(f) && !/\.d\.ts$/.test(f)) || /(^|\/)(test|sample|scripts|bench)\//.test(f) || /generator/.test(f));
		assert.deepEqual(stray, [], 'no source maps, TypeScript sources, tests or sample generator');
		assert.ok(files.every((f) => /^(dist\/|package\.json$|README\.md$|LICENSE$)/.test(f)), `only dist/, package.json, README and LICENSE: ${files.filter((f) => !/^(dist\/|package\.json$|README\.md$|LICENSE$)/.test(f)).join(', ')}`);
	});
});
