/**
 * Library errors as n8n errors: each names the parameter or credential at fault, in the node's
 * terms, and never carries secrets. lib/ reports a request's field in its own terms
 * (RequestError.field: `maxBytesPerFile`, `codec`, `source`); TERMS and the node's own terms map
 * them to the parameter the user typed.
 */
import type { IDataObject, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';
import { RequestError } from '../../lib/errors';
import { SourceError } from '../../lib/source/types';
import { StoreError } from '../../lib/storage';

/** A library field → the node parameter it comes from, where the names differ. */
export type ParameterTerms = Record<string, string>;

/** The names every node shares; a node adds its own (e.g. `codec` → the chosen file type's Compression). */
const TERMS: ParameterTerms = {
	maxBytesPerFile: 'maxFileSizeMb',
	cleanupAfterMs: 'cleanupAfterHours',
	codec: 'compression',
};

/** Display names of the parameters errors can point at. */
const PARAMETER_LABELS: Record<string, string> = {
	datasetId: 'Dataset',
	mode: 'Mode',
	fileType: 'File Type',
	compression: 'Compression',
	includeManifest: 'Include Manifest',
	folderPath: 'Folder Path',
	folderTemplate: 'Options › Folder Template',
	maxRecordsPerFile: 'Options › Max Records per File',
	maxFileSizeMb: 'Options › Max File Size (MB)',
	lookbackDays: 'Options › Lookback Days',
	startDate: 'Options › Start Date',
	endDate: 'Options › End Date',
	exportTime: 'Export Time',
	fileNamePrefix: 'Options › File Name Prefix',
	timeoutSeconds: 'Options › Network Timeout (Seconds)',
	retries: 'Options › Retries',
	maxRetrySeconds: 'Options › Max Retry Time (Seconds)',
	cleanupAfterHours: 'Options › Remove Leftovers After (Hours)',
	manifestPath: 'Manifest Path',
	lakePath: 'Lake Path',
	cursorColumn: 'Cursor Column',
	query: 'SQL Query',
	waitForTransactionsSeconds: 'Wait for Open Transactions (Seconds)',
	safetyLagSeconds: 'Safety Lag (Seconds)',
	rowGroupRows: 'Options › Parquet Row Group Size',
	schemaMismatch: 'Options › On Schema Mismatch',
	jsonCompression: 'Compression',
	parquetCompression: 'Compression',
	destinationName: 'Options › Destination Name',
	sandboxName: 'Options › Sandbox Name',
	organizationName: 'Options › Organization Name',
};

/**
 * A library error as an n8n error that names the parameter or credential at fault. Never carries
 * secrets. n8n replaces an error item's JSON with `{error: message}`, so structured detail goes on
 * the error itself: `description` for people, `context` for the nodes after the error output.
 * `terms` maps library fields to this node's parameters (`source` → the chosen source's parameter).
 */
export function toNodeError(node: INode, error: unknown, itemIndex: number, context: IDataObject = {}, terms: ParameterTerms = {}): NodeOperationError {
	const nodeError = describeError(node, error, itemIndex, { ...TERMS, ...terms });
	Object.assign(nodeError.context, context);
	return nodeError;
}

function describeError(node: INode, error: unknown, itemIndex: number, terms: ParameterTerms): NodeOperationError {
	if (error instanceof NodeOperationError) return error;
	// a source that cannot be opened as configured blames the parameter that configures it
	// (a source that logs in with a credential has no parameter to blame: its errors say so below)
	const field = error instanceof RequestError ? error.field : error instanceof SourceError && error.code === 'location' && terms.source ? 'source' : undefined;
	const parameter = field === undefined ? undefined : (terms[field] ?? field);
	if (parameter) {
		const described = new NodeOperationError(node, ownWords((error as Error).message), {
			itemIndex,
			description: `Check the parameter "${PARAMETER_LABELS[parameter] ?? parameter}".`,
		});
		described.context.parameter = parameter;
		return described;
	}
	if (isDiskFull(error)) {
		const message = (error as Error).message;
		const described = new NodeOperationError(node, ownWords(/destination is full/.test(message) ? `Destination: ${message.replace(/^Destination: /, '')}` : `Destination is full: ${message}`), {
			itemIndex,
			description: 'The destination has no space left: free space there (or choose another destination) and run again. Nothing was committed; the next run removes what this one left.',
		});
		described.context.destinationFull = true;
		return described;
	}
	if (error instanceof StoreError) {
		const description =
			error.code === 'unreachable'
				? "n8n could not connect to the destination: check the host or endpoint and port in the destination credential, and that n8n's network reaches it."
				: 'Check the destination credential (and the folder it points at).';
		const described = new NodeOperationError(node, ownWords(`Destination: ${error.message}`), { itemIndex, description });
		described.context.destinationError = error.code;
		return described;
	}
	if (error instanceof SourceError) {
		const description =
			error.code === 'auth'
				? "The source's server refused the credential, or the user may not read this: check the user and password in the source credential, and the user's privileges."
				: error.code === 'unreachable'
					? "n8n could not reach the source's server: check the host and port in the source credential, and that n8n's network reaches it."
					: error.code === 'location'
						? 'Check the source credential (the database it names).'
						: error.code === 'busy'
							? 'Nothing was exported; the next run tries again. See the message for the sessions that kept the source busy.'
							: 'Check the source parameters.';
		const described = new NodeOperationError(node, ownWords(`Source: ${error.message}`), { itemIndex, description });
		described.context.sourceError = error.code;
		return described;
	}
	return new NodeOperationError(node, ownWords((error as Error)?.message ?? String(error)), { itemIndex });
}

/** A full disk or used-up quota, wherever it surfaced (a store, a stream, the engine). */
function isDiskFull(error: unknown): boolean {
	const e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
	if (!e) return false;
	if (e.code === 'ENOSPC' || e.code === 'EDQUOT') return true;
	const message = typeof e.message === 'string' ? e.message : '';
	if (/\bENOSPC\b|no space left on (the )?device|\bEDQUOT\b|disk quota exceeded|the destination is full/i.test(message)) return true;
	return e.cause !== undefined && e.cause !== error && isDiskFull(e.cause);
}

/** System error codes, in the words n8n's error messages use instead. */
const CODE_WORDS: Record<string, string> = {
	ECONNREFUSED: 'connection refused',
	ECONNRESET: 'connection reset',
	ENOTFOUND: 'host not found',
	ETIMEDOUT: 'timed out',
	ERRADDRINUSE: 'address in use',
	EADDRNOTAVAIL: 'address not available',
	ECONNABORTED: 'connection aborted',
	EHOSTUNREACH: 'host unreachable',
	EAI_AGAIN: 'name lookup failed',
	ENOENT: 'not found',
	EISDIR: 'is a folder',
	ENOTDIR: 'not a folder',
	EACCES: 'permission denied',
	EEXIST: 'already exists',
	EPERM: 'not permitted',
	ENOSPC: 'no space left on the device',
	EDQUOT: 'disk quota exceeded',
	ENAMETOOLONG: 'name too long',
	ELOOP: 'too many symbolic links',
	GETADDRINFO: 'name lookup',
};

/**
 * A message n8n will show as written. NodeOperationError replaces any message that contains a
 * system error code (anywhere, any case: "ECONNREFUSED", "enoent", "getaddrinfo") with a generic
 * sentence, losing which endpoint, file or credential failed. Codes become words; "ENOENT: no such
 * file…"-style prefixes go (the text after them says it); a code hidden inside an ordinary word
 * ("preexisting") gets an invisible joiner.
 */
export function ownWords(message: string): string {
	let text = message;
	for (const [code, words] of Object.entries(CODE_WORDS)) {
		text = text.replace(new RegExp(`\\b${code}: `, 'g'), '').replace(new RegExp(`\\b(?:connect |getaddrinfo |read |write )?${code}\\b`, 'gi'), words);
	}
	// a code inside an ordinary word: a zero-width joiner after its first letter (matched on the
	// text itself, since upper-casing can change a string's length: "ß" becomes "SS")
	for (const code of Object.keys(CODE_WORDS)) text = text.replace(new RegExp(code, 'gi'), (m) => `${m[0]}\u200d${m.slice(1)}`);
	return text;
}
