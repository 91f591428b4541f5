/**
 * What the published package holds, by `npm pack --dry-run` after a build as n8n builds community
 * nodes: the compiled nodes and credentials package.json names, README and LICENSE, and nothing
 * that is not for n8n (no tests, no sample generator, no TypeScript sources, no source maps).
 * Then what a fresh clone needs: a lockfile `npm ci` takes on any platform, the same install with
 * or without install scripts, and the scripts CI and the publish workflow call.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(__dirname, '..');

interface PackageJson {
	version: string;
	files: string[];
	scripts: Record<string, string>;
	dependencies: Record<string, string>;
	devDependencies: Record<string, string>;
	peerDependencies?: Record<string, string>;
	allowScripts?: Record<string, boolean>;
}
interface LockEntry {
	version?: string;
	dependencies?: Record<string, string>;
	devDependencies?: Record<string, string>;
	optionalDependencies?: Record<string, string>;
	peerDependencies?: Record<string, string>;
	hasInstallScript?: boolean;
}
const readJson = <T>(file: string) => JSON.parse(readFileSync(join(root, file), 'utf8')) as T;

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
		assert.ok(
			files.every((f) => /^(dist\/|package\.json$|README\.md$|LICENSE$)/.test(f)),
			`only dist/, package.json, README and LICENSE: ${files.filter((f) => !/^(dist\/|package\.json$|README\.md$|LICENSE$)/.test(f)).join(', ')}`,
		);
	});
});

describe('a fresh clone', () => {
	const pkg = readJson<PackageJson>('package.json');
	const lock = readJson<{ lockfileVersion: number; packages: Record<string, LockEntry> }>('package-lock.json');

	it("the lockfile is package.json's: npm ci installs it as it is", () => {
		assert.equal(lock.lockfileVersion, 3);
		const top = lock.packages[''];
		assert.deepEqual(top.dependencies ?? {}, pkg.dependencies, 'dependencies');
		assert.deepEqual(top.devDependencies ?? {}, pkg.devDependencies, 'devDependencies');
		assert.deepEqual(top.peerDependencies ?? {}, pkg.peerDependencies ?? {}, 'peerDependencies');
	});

	it("every platform's optional binaries are in the lockfile (npm ci refuses a lockfile without another platform's)", () => {
		const missing: string[] = [];
		for (const [path, entry] of Object.entries(lock.packages)) {
			for (const name of Object.keys(entry.optionalDependencies ?? {})) {
				// resolved as Node does: the nearest node_modules/<name> from the dependent up
				let base = path;
				let found = false;
				for (;;) {
					if (lock.packages[`${base ? `${base}/` : ''}node_modules/${name}`]) {
						found = true;
						break;
					}
					if (!base) break;
					const up = base.lastIndexOf('/node_modules/');
					base = up < 0 ? '' : base.slice(0, up);
				}
				if (!found) missing.push(`${path || 'the package'} → ${name}`);
			}
		}
		assert.deepEqual(missing, []);
	});

	it('allowScripts decides every install script (npm 11.16+ then installs as --ignore-scripts does on npm 10)', () => {
		const withScripts = [
			...new Set(
				Object.entries(lock.packages)
					.filter(([, e]) => e.hasInstallScript)
					.map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)),
			),
		].sort();
		assert.deepEqual(Object.keys(pkg.allowScripts ?? {}).sort(), withScripts);
		assert.deepEqual(
			Object.entries(pkg.allowScripts ?? {}).filter(([, allowed]) => allowed),
			[],
			'none is allowed: CI installs with --ignore-scripts',
		);
		assert.match(readFileSync(join(root, '.ci/run'), 'utf8'), /^npm ci --ignore-scripts\b/m);
	});

	it('the scripts CI and the publish workflow call', () => {
		for (const name of ['build', 'lint', 'format', 'format:check', 'typecheck', 'test', 'test:unit', 'release', 'prepublishOnly']) {
			assert.ok(pkg.scripts[name], `npm run ${name}`);
		}
		assert.match(pkg.scripts.lint, /n8n-node lint/);
		assert.match(pkg.scripts.lint, /prettier --check/);
		assert.match(pkg.scripts['test:unit'], /npm run typecheck && npm run lint && node --import tsx --test (--test-concurrency=\d+ )?/);
		const files = pkg.scripts['test:unit']
			.split(' --test ')[1]
			.split(' ')
			.filter((f) => !f.startsWith('--'));
		for (const file of files.filter((f) => !f.includes('*'))) assert.ok(existsSync(join(root, file)), `${file} exists`);
		// no test that needs the servers scripts/test.sh starts
		for (const file of files.filter((f) => !f.includes('*'))) {
			assert.doesNotMatch(readFileSync(join(root, file), 'utf8'), /from '(\.\.?\/)+helpers\/(servers|gcs|fault-proxy)'/, `${file} needs no server`);
		}
		for (const workflow of ['.github/workflows/ci.yml', '.github/workflows/publish.yml']) {
			const text = readFileSync(join(root, workflow), 'utf8');
			assert.match(text, /npm ci --ignore-scripts/, `${workflow} installs from the lockfile`);
			assert.match(text, /npm run test:unit/, `${workflow} runs the unit tier`);
		}
		assert.match(readFileSync(join(root, '.github/workflows/publish.yml'), 'utf8'), /id-token: write[\s\S]*npm run release/);
	});

	it("the changelog has a section for package.json's version", () => {
		const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');
		assert.match(changelog, /^## \[Unreleased\]/m);
		assert.ok(changelog.includes(`## [${pkg.version}]`), `## [${pkg.version}]`);
	});
});
