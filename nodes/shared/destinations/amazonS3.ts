import { BUCKET_FIELD, optional, probeBucket, text, type Destination } from './types';

export const amazonS3: Destination = {
	value: 'amazonS3',
	name: 'Amazon S3',
	description: 'Amazon S3 or an S3-compatible store (Ceph, MinIO, R2, …)',
	credential: 'datasetExportS3Api',
	fields: [BUCKET_FIELD],
	config: (credential, fields) => ({
		type: 'amazonS3',
		accessKeyId: text(credential.accessKeyId),
		secretAccessKey: text(credential.secretAccessKey),
		sessionToken: optional(credential.sessionToken),
		region: optional(credential.region),
		endpoint: optional(credential.endpoint),
		forcePathStyle: credential.forcePathStyle === true || undefined,
		roleArn: optional(credential.roleArn),
		externalId: optional(credential.externalId),
		roleSessionName: optional(credential.roleSessionName),
		bucket: fields.bucket ?? '',
	}),
	// the bucket is a node parameter: the keys are checked against a bucket name that does not exist,
	// where a wrong key or signature is refused (403) before existence is (404); with a Role ARN the
	// role is assumed first (a refusal names the Role ARN) and its credentials probe
	test: {
		ok: (credential) => (text(credential.roleArn).trim() ? 'The keys are accepted and the role was assumed' : 'The keys are accepted'),
		probe: probeBucket,
		absentIsFine: () => true,
	},
};
