import { BUCKET_FIELD, optional, probeBucket, text, type Destination } from './types';

const serviceAccount = (credential: Record<string, unknown>) => text(credential.authentication) === 'serviceAccount';

export const googleCloudStorage: Destination = {
	value: 'googleCloudStorage',
	name: 'Google Cloud Storage',
	description: 'A Cloud Storage bucket (service-account JSON or HMAC keys)',
	credential: 'datasetExportGoogleCloudStorageApi',
	fields: [BUCKET_FIELD],
	config: (credential, fields) => {
		if (serviceAccount(credential)) {
			const key = credential.serviceAccountJson;
			return {
				type: 'googleCloudStorage',
				authentication: 'serviceAccount',
				serviceAccountJson: key && typeof key === 'object' ? (key as Record<string, unknown>) : text(key),
				apiEndpoint: optional(credential.apiEndpoint),
				bucket: fields.bucket ?? '',
			};
		}
		// HMAC keys; credentials saved before the Authentication choice existed have no value here
		return {
			type: 'googleCloudStorage',
			accessKeyId: text(credential.accessKeyId),
			secretAccessKey: text(credential.secretAccessKey),
			endpoint: optional(credential.endpoint),
			bucket: fields.bucket ?? '',
		};
	},
	// probed like S3 on a bucket name that does not exist: HMAC keys must be accepted by the XML API;
	// a service-account key must parse (every field checked locally) and obtain a token that the JSON
	// API accepts (a bad key is refused before the bucket's absence is reported)
	test: {
		ok: (credential) => {
			if (!serviceAccount(credential)) return 'The HMAC keys are accepted';
			const emulator = /^http:\/\//i.test(text(credential.apiEndpoint).trim());
			return emulator ? 'The key is well-formed and the endpoint answers (an http:// endpoint gets no credentials)' : 'The service account key is accepted';
		},
		probe: probeBucket,
		absentIsFine: () => true,
	},
};
