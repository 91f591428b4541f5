/**
 * Export Dataset's parameters checked as the user typed them (units, names), before anything is
 * read from the lake or written to the destination. The engine checks its request again
 * (lib/export/run.ts validateRequest); these checks come first so the message speaks in the
 * node's terms: megabytes, not bytes; the option's label; "not a number" for text.
 */
import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';
import { attempt, RequestError } from '../../lib/errors';
import type { SchemaMismatchPolicy } from '../../lib/export/run';
import { datasetIdProblem } from '../../lib/source/local-lake';
import { DEFAULT_FOLDER_TEMPLATE, checkFolderName, renderFolder, TemplateError } from '../../lib/export/template';
import { fileTypeList, formatOf, FORMATS, type Codec, type FileType, type Format } from '../../lib/format';

/*
 * File Type and Compression come from the format registry (lib/format): one File Type option per
 * registered format, and one Compression parameter per format (`<fileType>Compression`, shown
 * when that file type is chosen), its options the format's codecs. n8n's editor lists options
 * alphabetically (its lint insists), so both lists are sorted by name here.
 */

const byName = <T extends { name: string }>(list: T[]) => list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/** A file type's Compression in this node's terms: its parameter, its label, its codecs as listed, and the codec used when the parameter is not stored. */
export function fileTypeTerms(fileType: FileType): { label: string; codecs: Codec[]; parameter: string; fallback: Codec } {
	const format = formatOf(fileType) as Format;
	return {
		label: format.label,
		codecs: byName(format.codecs.map((c) => ({ ...c }))).map((c) => c.value),
		parameter: `${format.id}Compression`,
		fallback: format.defaultCodec,
	};
}

/** The File Type options: every registered format. */
export function fileTypeOptions(): INodePropertyOptions[] {
	return byName([...FORMATS.values()].map((f) => ({ name: f.label, value: f.id })));
}

/** One Compression parameter per registered format, shown when its file type is chosen. */
export function compressionProperties(): INodeProperties[] {
	// (n8n's lint reads `default` as a literal, or skips a plain identifier: a member expression it would flag)
	return [...FORMATS.values()].map(({ id, codecs, defaultCodec, compressionDescription }) => ({
		displayName: 'Compression',
		name: fileTypeTerms(id).parameter,
		type: 'options',
		options: byName(codecs.map((c) => ({ name: c.name, value: c.value, ...(c.description ? { description: c.description } : {}) }))),
		default: defaultCodec,
		description: compressionDescription,
		displayOptions: { show: { fileType: [id] } },
	}));
}

export const SCHEMA_MISMATCH: SchemaMismatchPolicy[] = ['fail', 'evolve', 'skip'];

/** Editor limits of the numeric options (typeOptions), and the largest values that can work. */
export const LIMITS = {
	maxFileSizeMb: { min: 0.01, max: 5_242_880 }, // 5 TiB: S3's largest object
	maxRecordsPerFile: { min: 1, max: Number.MAX_SAFE_INTEGER },
	lookbackDays: { min: 1, max: 36_500 }, // 100 years
	rowGroupRows: { min: 1, max: 10_000_000 },
	cleanupAfterHours: { min: 0, max: 87_600 }, // 10 years
};

const shown = (value: unknown): string => {
	if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
	if (typeof value === 'number') return String(value);
	if (value === null) return 'null';
	const text = (() => {
		try {
			return JSON.stringify(value) ?? String(value);
		} catch {
			return String(value);
		}
	})();
	return text.length > 40 ? `${text.slice(0, 37)}...` : text;
};

const number = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 });

/**
 * A numeric option as given: absent stays absent; anything else must be a finite number within
 * [min, max] (and whole when `whole`), else an RequestError naming the option, in its unit.
 */
export function numericOption(value: unknown, parameter: keyof typeof LIMITS, label: string, unit: { one: string; many: string } | undefined, whole: boolean, why = ''): number | undefined {
	if (value === undefined || value === null || value === '') return undefined;
	const { min, max } = LIMITS[parameter];
	const inUnit = (n: number) => (unit ? `${number(n)} ${n === 1 ? unit.one : unit.many}` : number(n));
	if (typeof value !== 'number') {
		throw new RequestError(`${label} must be a number${unit ? ` of ${unit.many}` : ''}, not ${typeof value === 'string' ? `the text ${shown(value)}` : shown(value)}`, parameter);
	}
	if (Number.isNaN(value)) throw new RequestError(`${label} must be a number${unit ? ` of ${unit.many}` : ''}, not NaN (not a number)`, parameter);
	if (!Number.isFinite(value)) throw new RequestError(`${label} must be at most ${inUnit(max)}, not ${value}${why}`, parameter);
	if (whole && !Number.isInteger(value)) throw new RequestError(`${label} must be a whole number, not ${value}`, parameter);
	if (value < min) {
		const noLimit = ['maxFileSizeMb', 'maxRecordsPerFile', 'lookbackDays'].includes(parameter) ? ' (remove the option for no limit)' : '';
		if (whole && min === 1) throw new RequestError(`${label} must be a whole number above 0${noLimit}, not ${value}`, parameter);
		throw new RequestError(`${label} must be at least ${inUnit(min)}${noLimit}, not ${inUnit(value)}`, parameter);
	}
	if (value > max) throw new RequestError(`${label} must be at most ${inUnit(max)}, not ${inUnit(value)}${why}`, parameter);
	return value;
}

/** File Type as resolved (an expression can give anything). */
export function fileTypeOf(value: unknown): FileType {
	if (formatOf(value)) return value as FileType;
	throw new RequestError(`File Type must be ${fileTypeList(true)}, not ${shown(value)}`, 'fileType');
}

/** The compression for a file type, checked against the codecs it has. */
export function codecOf(fileType: FileType, value: unknown): Codec {
	const { codecs, label, parameter } = fileTypeTerms(fileType);
	if (typeof value === 'string' && codecs.includes(value)) return value;
	throw new RequestError(`Compression for ${label} must be one of ${codecs.map((c) => `"${c}"`).join(', ')}, not ${shown(value)}`, parameter);
}

/** On Schema Mismatch as resolved. */
export function schemaMismatchOf(value: unknown): SchemaMismatchPolicy | undefined {
	if (value === undefined || value === '') return undefined;
	if ((SCHEMA_MISMATCH as unknown[]).includes(value)) return value as SchemaMismatchPolicy;
	throw new RequestError(`On Schema Mismatch must be "fail", "evolve" or "skip", not ${shown(value)}`, 'schemaMismatch');
}

/** A text parameter that ends up in paths: a string without control characters. */
export function pathText(value: unknown, parameter: string, label: string): string {
	if (value === undefined || value === null) return '';
	if (typeof value !== 'string') throw new RequestError(`${label} must be text, not ${shown(value)}`, parameter);
	// eslint-disable-next-line no-control-regex
	const control = /[\u0000-\u001f\u007f]/.exec(value);
	if (control) {
		const what = control[0] === '\u0000' ? 'a NUL character (\\0)' : `a control character (U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()})`;
		throw new RequestError(`${label} must not contain ${what}`, parameter);
	}
	return value;
}

/** Folder Path: each folder name a name every destination accepts, the whole short enough for object keys. */
export function checkFolderPath(folderPath: string): void {
	if (folderPath.split('/').some((p) => p === '..')) throw new RequestError(`Folder Path "${folderPath}" must not contain ".." segments`, 'folderPath');
	const problem = checkFolderName(folderPath, 'Folder Path');
	if (problem) throw new RequestError(problem, 'folderPath');
}

export interface FolderValues {
	datasetId: string;
	destination: string;
	destinationName?: string;
	sandboxName?: string;
	organizationName?: string;
}

/**
 * Folder Template rendered with this item's values (and a stand-in time): every folder name it
 * makes must be usable. A problem that Folder Path alone causes was reported already.
 */
export function checkFolderTemplate(folderPath: string, template: string | undefined, values: FolderValues): void {
	const rendered = attempt(() =>
		renderFolder(folderPath, template || DEFAULT_FOLDER_TEMPLATE, {
			datasetId: values.datasetId,
			destination: values.destination,
			destinationInstanceName: values.destinationName || values.destination,
			destinationInstanceId: 'x'.repeat(12),
			sandboxName: values.sandboxName || 'prod',
			organizationName: values.organizationName || '',
			exportTime: new Date(Date.UTC(2026, 0, 1)),
		}),
	);
	if (!rendered.ok) {
		const why = rendered.error instanceof TemplateError ? rendered.error.message : `cannot be rendered: ${rendered.error.message}`;
		throw new RequestError(`Folder Template: ${why}`, 'folderTemplate');
	}
	const problem = checkFolderName(rendered.value, 'Folder Path with Folder Template');
	if (problem) throw new RequestError(problem.replace('Folder Path with Folder Template', 'Folder Template (below Folder Path)'), 'folderTemplate');
}

/** The dataset id, when given, follows the id rule (before it is used in folder names). */
/** The dataset id as typed or mapped; `label`: a source's own parameter naming it (Input Items' Dataset Name), which may not be empty. */
export function checkDatasetId(datasetId: string, label?: string): void {
	if (label && !datasetId.trim()) throw new RequestError(`${label} is empty: name the dataset the items become (e.g. orders)`, 'datasetId');
	const problem = datasetId.trim() ? datasetIdProblem(datasetId.trim()) : undefined;
	if (problem) throw new RequestError(`${label ?? 'Dataset'}: ${problem}`, 'datasetId');
}

/**
 * Sources whose batches are no ingestion-time batches (Input Items: one batch received now; a
 * PostgreSQL table: a range of its cursor): a date selection cannot apply.
 */
export function checkNoDateSelection(options: { startDate?: string; endDate?: string; lookbackDays?: number }, sourceName: string, why: string): void {
	for (const [key, label] of [
		['startDate', 'Start Date'],
		['endDate', 'End Date'],
		['lookbackDays', 'Lookback Days'],
	] as const) {
		if (options[key] !== undefined && options[key] !== '') {
			throw new RequestError(`${label} does not apply to ${sourceName}: ${why}. Remove the option.`, key);
		}
	}
}

/** File Name Prefix: short enough for a file name (the engine checks its characters). */
export function checkFileNamePrefix(prefix: string | undefined): void {
	if (prefix !== undefined && prefix.length > 100) throw new RequestError(`File Name Prefix may be at most 100 characters, not ${prefix.length}`, 'fileNamePrefix');
}
