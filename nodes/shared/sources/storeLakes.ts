/**
 * Lakes in stores: one source per storage backend of the destination registry (all but the local
 * folder, which is the Local Lake), built from its descriptor: the same credential fields (in a
 * credential type of its own, so a node can read a lake with one account and write to another of
 * the same kind), the same store settings, the same Test button. Its parameters: the backend's
 * fields (Lake Bucket, Lake Container) and Lake Folder.
 */
import type { ICredentialDataDecryptedObject, INodeProperties } from 'n8n-workflow';
import { StoreLakeSource } from '../../../lib/source/store-lake';
import { openStore } from '../../../lib/storage';
import { DESTINATIONS, type Destination, type FieldValues } from '../destinations';
import { testDestination } from '../destinations/connectionTest';
import type { SourceOption } from './types';

/** The lake credential type of a backend: its destination credential's name with `Lake` before `Api`. */
export const lakeCredentialName = (destination: Destination) => destination.credential.replace(/Api$/, 'LakeApi');

const lakeFieldName = (field: string) => `lake${field[0].toUpperCase()}${field.slice(1)}`;

function storeLake(destination: Destination): SourceOption {
	const fields = destination.fields ?? [];
	const properties: INodeProperties[] = [
		...fields.map(
			(f): INodeProperties => ({
				displayName: `Lake ${f.displayName}`,
				name: lakeFieldName(f.name),
				type: 'string',
				default: '',
				required: true,
				placeholder: 'my-lake',
				description: `The ${f.displayName.toLowerCase()} that holds the lake`,
			}),
		),
		{
			displayName: 'Lake Folder',
			name: 'lakeFolder',
			type: 'string',
			default: '',
			placeholder: 'lake',
			description: `Folder in ${fields.length ? `the ${fields[0].displayName.toLowerCase()}` : 'the root folder of the credential'} that holds one sub-folder per dataset (its metadata and batch folders, or plain data files); empty: the top`,
		},
	];
	return {
		value: `${destination.value}Lake`,
		name: `${destination.name} Lake`,
		description: `A lake in ${destination.name}: one folder per dataset`,
		credential: lakeCredentialName(destination),
		properties,
		locationParameter: fields.length ? lakeFieldName(fields[0].name) : 'lakeFolder',
		async test(data) {
			const result = await testDestination(destination, { id: '', name: '', type: lakeCredentialName(destination), data: data as ICredentialDataDecryptedObject });
			if (result.status !== 'OK') throw new Error(result.message);
			return result.message;
		},
		open({ get, credentials }) {
			const values: FieldValues = Object.fromEntries(fields.map((f) => [f.name, String(get(lakeFieldName(f.name)) ?? '').trim()]));
			const folder = String(get('lakeFolder') ?? '').trim();
			return new StoreLakeSource(
				async () => {
					if (!credentials) throw new Error(`${destination.name} Lake needs its credential`);
					return openStore(destination.config((await credentials(lakeCredentialName(destination))) as ICredentialDataDecryptedObject, values));
				},
				folder,
				{ label: `${destination.name} lake${values[fields[0]?.name] ? ` ${values[fields[0].name]}` : ''}${folder ? `/${folder}` : ''}` },
			);
		},
	};
}

export const storeLakes: SourceOption[] = DESTINATIONS.filter((d) => d.value !== 'localFolder').map(storeLake);
