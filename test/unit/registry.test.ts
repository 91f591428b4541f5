/**
 * The registries (nodes/shared/destinations, nodes/shared/sources) are the one place a backend or
 * a source is declared; n8n reads other places that must say the same: package.json's
 * `n8n.credentials` (what n8n loads), each credential class's `name`, the nodes' credential lists,
 * their `testedBy` functions, and the parameters shown per destination and per source.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import type { ICredentialType, INodeProperties, INodeType } from 'n8n-workflow';
import { credentialTestName, DESTINATIONS } from '../../nodes/shared/destinations';
import { SOURCES } from '../../nodes/shared/sources';
import { ExportDataset, ListEligibleDatasets, VerifyExport } from '../harness/source-nodes';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { n8n: { credentials: string[]; nodes: string[] } };

/** Credential classes by file, as n8n loads them from package.json (the sources of dist/credentials/*.js). */
function credentialClasses(): Map<string, ICredentialType> {
	const out = new Map<string, ICredentialType>();
	for (const file of readdirSync(join(root, 'credentials')).filter((f) => f.endsWith('.credentials.ts'))) {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const module = require(join(root, 'credentials', file)) as Record<string, new () => ICredentialType>;
		const Type = Object.values(module)[0];
		out.set(file.replace(/\.ts$/, '.js'), new Type());
	}
	return out;
}

const nodesWithDestination: INodeType[] = [new ExportDataset(), new VerifyExport()];
const nodesWithSource: INodeType[] = [new ExportDataset(), new ListEligibleDatasets(), new VerifyExport()];

const property = (node: INodeType, name: string) => node.description.properties.find((p) => p.name === name);

describe('the destination registry agrees with package.json, the credentials and the nodes', () => {
	const classes = credentialClasses();

	it('package.json lists exactly the credential files there are, and every registered credential is one of them', () => {
		const listed = pkg.n8n.credentials.map((p) => basename(p)).sort();
		assert.deepEqual(listed, [...classes.keys()].sort(), 'package.json n8n.credentials = credentials/*.credentials.ts');
		for (const path of pkg.n8n.credentials) assert.match(path, /^dist\/credentials\/[A-Za-z0-9]+\.credentials\.js$/);
		const names = [...classes.values()].map((c) => c.name).sort();
		const sourceCredentialNames = SOURCES.filter((s) => s.credential).map((s) => s.credential!);
		assert.deepEqual([...DESTINATIONS.map((d) => d.credential), ...sourceCredentialNames].sort(), names, 'one destination or source per credential type, and the reverse');
	});

	it('values, credentials and display names are unique', () => {
		for (const key of ['value', 'credential', 'name'] as const) {
			const values = DESTINATIONS.map((d) => d[key]);
			assert.equal(new Set(values).size, values.length, `duplicate ${key}`);
		}
	});

	for (const node of nodesWithDestination) {
		const name = node.description.displayName;
		it(`${name}: the Destination options, the credential list and the Test buttons come from the registry`, () => {
			const destination = property(node, 'destination');
			assert.deepEqual(
				destination?.options?.map((o) => ('value' in o ? o.value : undefined)),
				DESTINATIONS.map((d) => d.value),
			);
			assert.ok(
				DESTINATIONS.some((d) => d.value === destination?.default),
				'the default is a registered destination',
			);
			const credentials = (node.description.credentials ?? []).filter((c) => DESTINATIONS.some((d) => d.credential === c.name));
			assert.deepEqual(credentials.map((c) => [c.name, c.testedBy]).sort(), DESTINATIONS.map((d) => [d.credential, credentialTestName(d)]).sort());
			for (const credential of credentials) {
				assert.equal(typeof node.methods?.credentialTest?.[credential.testedBy as string], 'function', `${credential.testedBy} exists`);
				// shown for its destination only
				const hidden = credential.displayOptions?.hide?.destination as string[];
				const own = DESTINATIONS.find((d) => d.credential === credential.name)!;
				assert.deepEqual(
					hidden.slice().sort(),
					DESTINATIONS.filter((d) => d !== own)
						.map((d) => d.value)
						.sort(),
				);
			}
		});

		it(`${name}: each destination field (Bucket, Container) is shown exactly for the destinations that need it`, () => {
			const fields = new Set(DESTINATIONS.flatMap((d) => (d.fields ?? []).map((f) => f.name)));
			assert.ok(fields.size >= 2, 'Bucket and Container');
			for (const field of fields) {
				const shown = property(node, field)?.displayOptions?.show?.destination as string[] | undefined;
				assert.deepEqual(
					shown?.slice().sort(),
					DESTINATIONS.filter((d) => d.fields?.some((f) => f.name === field))
						.map((d) => d.value)
						.sort(),
					field,
				);
			}
		});
	}

	it('every credential class names a documentation page and has fields', () => {
		for (const [file, credential] of classes) {
			assert.ok(credential.properties.length > 0, file);
			assert.ok(credential.displayName, file);
		}
	});
});

describe('the source registry agrees with the nodes', () => {
	for (const node of nodesWithSource) {
		it(`${node.description.displayName}: the Source options and each source's own parameters come from the registry`, () => {
			const source = property(node, 'source');
			const offered = SOURCES.filter((s) => !s.nodes || s.nodes.includes(node.description.name));
			assert.deepEqual(
				source?.options?.map((o) => ('value' in o ? o.value : undefined)),
				offered.map((s) => s.value),
			);
			assert.ok(
				offered.some((s) => s.value === source?.default),
				'the default is a source this node offers',
			);
			for (const option of SOURCES) {
				const isOffered = offered.includes(option);
				for (const own of [...option.properties, ...(option.propertiesIn?.[node.description.name] ?? [])]) {
					// several sources may have a parameter of the same name (Lake Folder), each shown for its own source
					const shown = node.description.properties.filter((p: INodeProperties) => p.name === own.name && (p.displayOptions?.show?.source ?? []).includes(option.value));
					if (!isOffered) {
						assert.deepEqual(shown, [], `${own.name} (of ${option.value}, not offered here) is not a parameter`);
						continue;
					}
					assert.equal(shown.length, 1, `${own.name} is a parameter for ${option.value}`);
					assert.deepEqual(shown[0].displayOptions?.show?.source, [option.value], `${own.name} is shown only for ${option.value}`);
				}
				if (isOffered && option.locationParameter) {
					assert.ok(
						node.description.properties.some((p: INodeProperties) => p.name === option.locationParameter),
						`${option.value}: its location parameter "${option.locationParameter}" is a parameter of the node`,
					);
				}
				// a source's credential: listed where the source is offered, shown only for it, with a Test button
				const credential = (node.description.credentials ?? []).find((c) => c.name === option.credential);
				if (option.credential && !isOffered) assert.equal(credential, undefined, `${option.credential} is not listed where ${option.value} is not offered`);
				else if (option.credential) {
					assert.ok(credential, `${option.credential} is listed`);
					assert.deepEqual(credential.displayOptions?.show?.source, [option.value], `${option.credential} is shown only for ${option.value}`);
					assert.equal(typeof node.methods?.credentialTest?.[credential.testedBy as string], 'function', `${credential.testedBy} exists`);
				}
			}
			if (offered.some((s) => s.scope === 'execution')) assert.equal(node.description.name, 'exportDataset', 'sources read once per execution are for Export Dataset');
		});
	}
});
