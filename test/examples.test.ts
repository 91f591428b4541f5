/**
 * The example workflows are imported into n8n unchanged (scripts/e2e.sh runs them in real n8n);
 * this catches what n8n's import would accept silently: a parameter our nodes do not have, a
 * credential type a node does not take, a connection to a node that does not exist.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeHelpers, type INodeType } from 'n8n-workflow';
import * as nodes from './harness/source-nodes';
import type { WorkflowJson } from './harness/engine';

const dir = join(__dirname, '..', 'examples');
const ours = new Map<string, INodeType>(
	Object.values(nodes as unknown as Record<string, new () => INodeType>).map((Type) => {
		const node = new Type();
		return [`n8n-nodes-dataset-export.${node.description.name}`, node];
	}),
);

describe('examples/', () => {
	const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
	it('has the seven documented examples', () => {
		assert.deepEqual(files.sort(), [
			'daily-sftp-backup.json',
			'one-time-full-export.json',
			'postgres-to-s3.json',
			'queue-dispatch.json',
			'queue-export-one-dataset.json',
			's3-lake-to-sftp.json',
			'scheduled-export.json',
		]);
	});
	it("queue mode: the dispatcher posts to the per-dataset workflow's webhook, with its credential, one dataset per request", () => {
		const read = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as WorkflowJson;
		const dispatch = read('queue-dispatch.json').nodes.find((n) => n.type === 'n8n-nodes-base.httpRequest')!;
		const one = read('queue-export-one-dataset.json').nodes;
		const webhook = one.find((n) => n.type === 'n8n-nodes-base.webhook')!;
		assert.equal(new URL(String(dispatch.parameters.url)).pathname, `/webhook/${webhook.parameters.path}`);
		assert.equal(dispatch.parameters.method, webhook.parameters.httpMethod);
		assert.deepEqual(dispatch.credentials, webhook.credentials, 'the same Header Auth credential on both sides');
		assert.equal(webhook.parameters.authentication, 'headerAuth');
		assert.equal(webhook.parameters.responseMode, 'onReceived', 'answers once queued: the dispatcher does not hold a slot per export');
		assert.match(String(dispatch.parameters.jsonBody), /id: \$json\.id/);
		const exporter = one.find((n) => n.type === 'n8n-nodes-dataset-export.exportDataset')!;
		assert.equal((exporter.parameters.dataset as { value: string }).value, '={{ $json.body.id }}');
	});
	for (const file of files) {
		const workflow = JSON.parse(readFileSync(join(dir, file), 'utf8')) as WorkflowJson & { id?: string };
		it(`${file}: our nodes use only their own parameters and credentials`, () => {
			const used = workflow.nodes.filter((n) => ours.has(n.type));
			// the queue dispatcher only lists datasets; every other example exports and verifies
			assert.ok(used.length >= (file === 'queue-dispatch.json' ? 1 : 2), 'uses the package nodes');
			for (const node of used) {
				const description = ours.get(node.type)!.description;
				const names = new Set(description.properties.map((p) => p.name));
				for (const key of Object.keys(node.parameters)) assert.ok(names.has(key), `${file} › ${node.name}: unknown parameter "${key}"`);
				const accepted = new Set((description.credentials ?? []).map((c) => c.name));
				for (const type of Object.keys(node.credentials ?? {})) assert.ok(accepted.has(type), `${file} › ${node.name}: credential type ${type} not accepted`);
				if (node.parameters.destination) {
					// n8n's own rule for which credential a node shows for its parameters
					const shown = (description.credentials ?? []).filter((c) => NodeHelpers.displayParameter(node.parameters, c, node, description));
					assert.deepEqual(
						Object.keys(node.credentials ?? {}),
						shown.map((c) => c.name),
						`${file} › ${node.name}: credential matches destination`,
					);
				}
			}
		});
		it(`${file}: connections join existing nodes and both error outputs reach the alert branch`, () => {
			const names = new Set(workflow.nodes.map((n) => n.name));
			for (const [from, byType] of Object.entries(workflow.connections)) {
				assert.ok(names.has(from), `${from} exists`);
				for (const outputs of Object.values(byType)) for (const targets of outputs) for (const t of targets ?? []) assert.ok(names.has(t.node), `${t.node} exists`);
			}
			for (const node of workflow.nodes.filter((n) => n.onError === 'continueErrorOutput')) {
				const errorOutput = workflow.connections[node.name]?.main?.[1] ?? [];
				assert.deepEqual(
					errorOutput.map((t) => t.node),
					['Compose alert'],
					`${node.name}'s error output goes to the alert`,
				);
			}
			assert.ok(
				workflow.nodes.some((n) => n.type === 'n8n-nodes-base.stopAndError'),
				'the alert fails the execution',
			);
			assert.match(String(workflow.id), /^[A-Za-z0-9]{16}$/, 'a stable n8n workflow id');
		});
	}
});

describe('node descriptions in the editor', () => {
	for (const [type, node] of ours) {
		it(`${type}: no parameter is taken for the "authentication" field (the editor would hide it)`, () => {
			// n8n's editor treats a parameter as the node's authentication choice, and moves it out of
			// the parameter list, when credentials' `show` conditions cover every one of its values
			const covered = new Map<string, Set<string>>();
			for (const credential of node.description.credentials ?? []) {
				for (const [name, values] of Object.entries(credential.displayOptions?.show ?? {})) {
					const set = covered.get(name) ?? new Set<string>();
					for (const v of values ?? []) set.add(String(v));
					covered.set(name, set);
				}
			}
			for (const property of node.description.properties.filter((p) => p.type === 'options' && covered.has(p.name))) {
				const values = (property.options ?? []).map((o) => String((o as { value: unknown }).value));
				assert.ok(!values.every((v) => covered.get(property.name)!.has(v)), `${property.name} would be hidden`);
			}
		});
	}
});

describe('documentation links', () => {
	it("every node's and credential's documentation link points at an anchor the README has", async () => {
		const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
		const anchors = new Set([
			...[...readme.matchAll(/^#{2,4} (.+)$/gm)].map((m) =>
				m[1]
					.toLowerCase()
					.replace(/[^a-z0-9 -]/g, '')
					.replace(/ /g, '-'),
			),
			...[...readme.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]),
		]);
		const credentialDir = join(__dirname, '..', 'credentials');
		const urls: string[] = [];
		for (const file of readdirSync(credentialDir)) {
			const exported = (await import(join(credentialDir, file))) as Record<string, new () => { documentationUrl?: string }>;
			for (const Type of Object.values(exported)) urls.push(new Type().documentationUrl ?? '');
		}
		for (const node of ours.values()) urls.push(String(node.description.documentationUrl));
		const codexDir = join(__dirname, '..', 'nodes');
		for (const folder of readdirSync(codexDir).filter((f) => f !== 'shared')) {
			const codex = JSON.parse(readFileSync(join(codexDir, folder, `${folder}.node.json`), 'utf8')) as { categories: string[]; resources: Record<string, { url: string }[]> };
			assert.deepEqual(codex.categories, ['Data & Storage']);
			for (const links of Object.values(codex.resources)) urls.push(...links.map((l) => l.url));
		}
		assert.ok(urls.length >= 7 + 3 + 6);
		for (const url of urls) {
			const anchor = url.split('#')[1];
			assert.ok(anchor && anchors.has(anchor), `${url}: the README has no #${anchor}`);
		}
	});
});
