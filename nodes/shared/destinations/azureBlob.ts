import { optional, text, type Destination } from './types';

const isSas = (credential: Record<string, unknown>) => text(credential.authentication) === 'sasUrl';

export const azureBlob: Destination = {
	value: 'azureBlob',
	name: 'Azure Blob',
	description: 'An Azure Storage container',
	credential: 'datasetExportAzureBlobApi',
	fields: [
		{
			name: 'container',
			displayName: 'Container',
			placeholder: 'exports',
			description: 'The Azure container (not needed when the credential is a container SAS URL: leave it as it is)',
		},
	],
	config: (credential, fields) => ({
		type: 'azureBlob',
		authentication: (text(credential.authentication) || 'connectionString') as 'connectionString' | 'accountKey' | 'sasUrl',
		connectionString: text(credential.connectionString),
		accountName: text(credential.accountName),
		accountKey: text(credential.accountKey),
		endpoint: optional(credential.endpoint),
		sasUrl: text(credential.sasUrl),
		container: fields.container,
	}),
	// the container is a node parameter: an account credential is probed on the $logs container
	// (authenticated is enough, even where it is absent); a SAS URL opens its own container
	test: {
		ok: () => 'Authenticated with the storage account',
		probe: (credential) => ({ container: isSas(credential) ? undefined : '$logs' }),
		absentIsFine: (credential) => !isSas(credential),
	},
};
