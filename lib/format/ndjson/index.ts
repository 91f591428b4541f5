/** Newline-delimited JSON: one object per line, optionally gzip-compressed (the `json` file type). */
import type { Format } from '../types';
import { checkNdjson } from './check';
import { ndjsonContentType, ndjsonEncoder, ndjsonExtension } from './encoder';

export { checkNdjson } from './check';
export { gzipOptions, ndjsonEncoder, type NdjsonOptions } from './encoder';

export const ndjsonFormat: Format = {
	id: 'json',
	name: 'JSON',
	label: 'JSON (Newline-Delimited)',
	aside: 'JSON, newline-delimited',
	codecs: [
		{ value: 'none', name: 'None' },
		{ value: 'gzip', name: 'Gzip', description: 'Compress each file with gzip (names end in .gz)' },
	],
	defaultCodec: 'gzip',
	compressionDescription: 'Whether JSON files are gzip-compressed',
	extension: ndjsonExtension,
	contentType: ndjsonContentType,
	// any record is a JSON object: every schema can be written
	problem: () => undefined,
	encoder: (codec, _schema, options) => ndjsonEncoder(codec, options),
	// the name says whether the file is gzip (as it did before manifests named the codec)
	check: (store, path, _size, options) => checkNdjson(store, path, options.name.endsWith('.gz'), options.hash),
};
