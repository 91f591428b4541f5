/**
 * The destination registry: every storage backend the nodes offer, in the order the Destination
 * list shows them. Everything the nodes say about destinations is derived from this list: the
 * Destination parameter, the fields beside it (Bucket, Container), the nodes' credential lists,
 * the credentials' Test buttons (methods/credentialTest.ts) and the store a run opens
 * (transport.ts). Adding a backend: its adapter in lib/storage, its credential in credentials/,
 * a descriptor here and one line in DESTINATIONS (docs/extending.md lists every file).
 */
import type { INodeCredentialDescription, INodeProperties } from 'n8n-workflow';
import { adlsGen2 } from './adlsGen2';
import { amazonS3 } from './amazonS3';
import { azureBlob } from './azureBlob';
import { dataLandingZone } from './dataLandingZone';
import { googleCloudStorage } from './googleCloudStorage';
import { localFolder } from './localFolder';
import { sftp } from './sftp';
import type { Destination } from './types';

export type { Destination, DestinationField, FieldValues } from './types';

export const DESTINATIONS: readonly Destination[] = [localFolder, amazonS3, sftp, azureBlob, adlsGen2, dataLandingZone, googleCloudStorage];

/** The destination with this Destination value, if there is one. */
export function destinationOf(value: unknown): Destination | undefined {
	return DESTINATIONS.find((d) => d.value === value);
}

/** Name of a destination's credential test in the nodes' `methods.credentialTest`. */
export const credentialTestName = (destination: Destination) => `${destination.value}ConnectionTest`;

/**
 * Show a credential only for one destination. Written with `hide` (every other destination), not
 * `show`: when credentials' `show` conditions cover every value of a parameter, n8n's editor takes
 * that parameter for the node's "authentication" field and moves it out of the parameter list,
 * which would hide Destination (and with it Bucket and Container) from the user.
 */
export function credentialFor(destination: Destination | string): { hide: { destination: string[] } } {
	const value = typeof destination === 'string' ? destination : destination.value;
	return { hide: { destination: DESTINATIONS.filter((d) => d.value !== value).map((d) => d.value) } };
}

/**
 * The credentials list of a node that writes to or reads from a destination. n8n's lint
 * (credential-test-required) reads credential lists only as literals in node files, so Export
 * Dataset spells its list out; test/unit/registry.test.ts holds both nodes' lists to this one.
 */
export const destinationCredentials: INodeCredentialDescription[] = DESTINATIONS.map((destination) => ({
	name: destination.credential,
	required: true,
	displayOptions: credentialFor(destination),
	testedBy: credentialTestName(destination),
}));

export const destinationProperty: INodeProperties = {
	displayName: 'Destination',
	name: 'destination',
	type: 'options',
	noDataExpression: true,
	options: DESTINATIONS.map((d) => ({ name: d.name, value: d.value, description: d.description })),
	default: 'localFolder',
	description: 'Where the export files are written; each destination has its own credential',
};

/** The fields destinations need beside their credential (Bucket, Container), each shown for the destinations that use it. */
export const destinationFieldProperties: INodeProperties[] = (() => {
	const byName = new Map<string, INodeProperties>();
	for (const destination of DESTINATIONS) {
		for (const field of destination.fields ?? []) {
			const property = byName.get(field.name);
			if (property) {
				(property.displayOptions!.show!.destination as string[]).push(destination.value);
				continue;
			}
			byName.set(field.name, {
				displayName: field.displayName,
				name: field.name,
				type: 'string',
				default: '',
				required: true,
				placeholder: field.placeholder,
				description: field.description,
				displayOptions: { show: { destination: [destination.value] } },
			});
		}
	}
	return [...byName.values()];
})();
