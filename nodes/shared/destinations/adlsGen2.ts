import { optional, text, type Destination } from './types';

const servicePrincipal = (credential: Record<string, unknown>) => text(credential.authentication) === 'servicePrincipal';

export const adlsGen2: Destination = {
	value: 'adlsGen2',
	name: 'Azure Data Lake Storage Gen2',
	description: 'An ADLS Gen2 file system (abfss URL)',
	credential: 'datasetExportAdlsGen2Api',
	config: (credential) => {
		const endpoint = optional(credential.endpoint);
		if (servicePrincipal(credential)) {
			return {
				type: 'adlsGen2',
				authentication: 'servicePrincipal',
				url: text(credential.url),
				tenantId: text(credential.tenantId),
				clientId: text(credential.clientId),
				clientSecret: text(credential.clientSecret),
				authorityHost: optional(credential.authorityHost),
				endpoint,
			};
		}
		// the account key; credentials saved before the Authentication choice existed have no value there
		return { type: 'adlsGen2', url: text(credential.url), accountKey: text(credential.accountKey), endpoint };
	},
	// the key opens the file system named by the URL; or the service principal signs in to Microsoft
	// Entra ID (a refusal names Tenant ID, Client ID or Client Secret) and its token opens the file system
	test: { ok: (credential) => (servicePrincipal(credential) ? 'The service principal signed in and opens the file system' : 'The key opens the file system') },
};
