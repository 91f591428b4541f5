/**
 * A destination as the nodes offer it: one descriptor per storage backend. The Destination
 * parameter's options, the nodes' credential lists, the extra fields (Bucket, Container), the
 * credential tests and the store a run writes to are all derived from these (./index.ts).
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';
import type { DestinationConfig } from '../../../lib/storage';

/** A node parameter a destination needs beside its credential (e.g. the bucket). */
export interface DestinationField {
	name: string;
	displayName: string;
	placeholder: string;
	description: string;
}

/** Node parameters of the destination, by field name (trimmed text). */
export type FieldValues = Record<string, string | undefined>;

export interface Destination {
	/** The Destination parameter's value, e.g. `amazonS3`. */
	value: string;
	/** Shown in the Destination list. */
	name: string;
	description: string;
	/** The credential type (credentials/<Class>.credentials.ts `name`), also listed in package.json. */
	credential: string;
	/** Node parameters beside the credential; the same field may serve several destinations (Bucket). */
	fields?: DestinationField[];
	/** The library's store settings from the credential and the node's fields. */
	config(credential: ICredentialDataDecryptedObject, fields: FieldValues): DestinationConfig;
	/** The credential's Test button: what to probe, and what success says. */
	test: {
		/** The message when the test passes. */
		ok(credential: ICredentialDataDecryptedObject): string;
		/** Fields to test with, where the real ones are node parameters the credential does not know. */
		probe?(credential: ICredentialDataDecryptedObject): FieldValues;
		/** The probe may be absent (a bucket named at random): being let in is enough. */
		absentIsFine?(credential: ICredentialDataDecryptedObject): boolean;
	};
}

/** A credential field as text ('' when absent). */
export const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));
/** A credential field as text, or undefined when empty. */
export const optional = (value: unknown): string | undefined => text(value) || undefined;
/** A bucket name that does not exist, for credential tests that cannot know the node's bucket. */
export const probeBucket = (): FieldValues => ({ bucket: `n8n-dataset-export-probe-${Math.random().toString(36).slice(2, 10)}` });

export const BUCKET_FIELD: DestinationField = {
	name: 'bucket',
	displayName: 'Bucket',
	placeholder: 'my-exports',
	description: 'The bucket the exports go to',
};
