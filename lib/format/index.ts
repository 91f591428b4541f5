/**
 * The format registry: every output format is one descriptor (`Format`, ./types.ts) registered
 * here. The engine (lib/export), Verify (lib/verify) and the nodes find formats only through it,
 * never by name. A new format is one module (a folder beside ndjson/ and parquet/) exporting its
 * descriptor, plus one `registerFormat` line below.
 */
import type { Schema } from '../schema';
import { ndjsonFormat } from './ndjson';
import { parquetFormat } from './parquet';
import { FormatError, type Codec, type Encoder, type EncoderOptions, type FileType, type Format, type FormatProblem } from './types';

export * from './types';

/** Registered formats by id, in the order the node's File Type list shows them. */
export const FORMATS = new Map<FileType, Format>();

/** Codecs each registered file type offers, in the order messages list them (kept in step with FORMATS). */
export const CODECS: Record<FileType, Codec[]> = {};

/** Register a format (its id must be new, its default codec one of its codecs). */
export function registerFormat(format: Format): Format {
	if (FORMATS.has(format.id)) throw new Error(`a format with id "${format.id}" is registered already`);
	if (!format.codecs.length || !format.codecs.some((c) => c.value === format.defaultCodec)) {
		throw new Error(`format "${format.id}": its default codec "${format.defaultCodec}" is not one of its codecs`);
	}
	FORMATS.set(format.id, format);
	CODECS[format.id] = format.codecs.map((c) => c.value);
	return format;
}

registerFormat(ndjsonFormat);
registerFormat(parquetFormat);

/** The format registered under a file type, if any. */
export function formatOf(fileType: unknown): Format | undefined {
	return typeof fileType === 'string' ? FORMATS.get(fileType) : undefined;
}

/** `"a", "b" or "c"` (each value quoted, with what `aside` says about it when asked). */
export function fileTypeList(aside = false): string {
	const names = [...FORMATS.values()].map((f) => `"${f.id}"${aside && f.aside ? ` (${f.aside})` : ''}`);
	return names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names.join('');
}

/**
 * The format a listed file was written in: the manifest's file type, or (a manifest that names
 * none) the format whose extension the file's name ends with.
 */
export function formatOfFile(fileType: FileType | undefined, name: string): Format | undefined {
	if (fileType !== undefined) return formatOf(fileType);
	let best: { format: Format; length: number } | undefined;
	for (const format of FORMATS.values()) {
		for (const codec of format.codecs) {
			const extension = format.extension(codec.value);
			if (name.endsWith(extension) && extension.length > (best?.length ?? 0)) best = { format, length: extension.length };
		}
	}
	return best?.format;
}

/** Why this file type and codec cannot be chosen at all: an unknown file type, or a codec it lacks. */
export function choiceProblem(fileType: FileType, codec: Codec): FormatProblem | undefined {
	const format = formatOf(fileType);
	if (!format) return { message: `unknown file type "${fileType}"`, field: 'fileType' };
	if (!format.codecs.some((c) => c.value === codec)) {
		return { message: `compression "${codec}" is not available for ${format.name} (choose ${CODECS[fileType].join(', ')})`, field: 'codec' };
	}
	return undefined;
}

/** Why records with this schema cannot be written as this file type and codec, and which choice is at fault. */
export function formatProblemOf(fileType: FileType, codec: Codec, schema: Schema | undefined): FormatProblem | undefined {
	return choiceProblem(fileType, codec) ?? (formatOf(fileType) as Format).problem(codec, schema);
}

/** Why records with this schema cannot be written as this file type and codec, if they cannot. */
export function formatProblem(fileType: FileType, codec: Codec, schema: Schema | undefined): string | undefined {
	return formatProblemOf(fileType, codec, schema)?.message;
}

export function createEncoder(fileType: FileType, codec: Codec, schema: Schema | undefined, options: EncoderOptions = {}): Encoder {
	const problem = formatProblem(fileType, codec, schema);
	if (problem) throw new FormatError(problem);
	return (formatOf(fileType) as Format).encoder(codec, schema, options);
}
