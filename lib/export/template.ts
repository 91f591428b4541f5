/**
 * Folder templates with Adobe's macros. The default reproduces Adobe's layout:
 * `<folder path>/%DATASET_ID%/exportTime=%EXPORT_TIME%`.
 */
import { attempt } from '../errors';
import { cleanPath } from '../storage/common';
import { exportTimeStamp, formatDateTime } from './time';

export const DEFAULT_FOLDER_TEMPLATE = '%DATASET_ID%/exportTime=%EXPORT_TIME%';

export const MACROS = [
	'%DATASET_ID%',
	'%DESTINATION%',
	'%DATETIME(YYYYMMdd_HHmmss)%',
	'%EXPORT_TIME%',
	'%DESTINATION_INSTANCE_NAME%',
	'%DESTINATION_INSTANCE_ID%',
	'%SANDBOX_NAME%',
	'%ORGANIZATION_NAME%',
];

export interface TemplateValues {
	datasetId: string;
	destination: string;
	destinationInstanceName: string;
	destinationInstanceId: string;
	sandboxName: string;
	organizationName: string;
	exportTime: Date;
}

export class TemplateError extends Error {}

/** Longest folder name (bytes of UTF-8) local file systems and SFTP servers accept. */
export const MAX_NAME_BYTES = 255;
/** Longest export folder (bytes of UTF-8): leaves room for file names below S3's and GCS's 1,024-byte keys. */
export const MAX_FOLDER_BYTES = 700;

/**
 * Why a folder path cannot be used at every destination (control characters, a folder name over
 * 255 bytes, the whole over 700 bytes), as a message starting with `label`; undefined when fine.
 */
export function checkFolderName(path: string, label: string): string | undefined {
	// eslint-disable-next-line no-control-regex
	const control = /[\u0000-\u001f\u007f]/.exec(path);
	if (control) {
		return `${label} must not contain ${control[0] === '\u0000' ? 'a NUL character (\\0)' : `a control character (U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()})`}`;
	}
	for (const name of path.split('/')) {
		const bytes = Buffer.byteLength(name, 'utf8');
		if (bytes > MAX_NAME_BYTES) {
			return `${label} has a folder name of ${bytes} bytes ("${name.slice(0, 24)}…"): folder names may be at most ${MAX_NAME_BYTES} bytes`;
		}
	}
	const total = Buffer.byteLength(path, 'utf8');
	if (total > MAX_FOLDER_BYTES) return `${label} is ${total} bytes long: the export folder may be at most ${MAX_FOLDER_BYTES} bytes (object keys are limited to 1,024)`;
	return undefined;
}

const MACRO = /%([A-Z_]+)(?:\(([^)%]*)\))?%/g;
const TIME_MARK = '\u0000';

function expand(template: string, values: TemplateValues, markTime: boolean): string {
	// eslint-disable-next-line no-control-regex
	if (/[\u0000-\u001f\u007f]/.test(template)) throw new TemplateError(`the template must not contain a NUL or other control character`);
	const leftover = template.replace(MACRO, '');
	if (leftover.includes('%')) {
		throw new TemplateError(`"${template}" has a "%" that does not open a known macro (macros: ${MACROS.join(', ')})`);
	}
	return template.replace(MACRO, (whole, name: string, arg: string | undefined) => {
		const plain = (value: string) => {
			if (arg !== undefined) throw new TemplateError(`macro %${name}% takes no argument`);
			return value;
		};
		switch (name) {
			case 'DATASET_ID':
				return plain(values.datasetId);
			case 'DESTINATION':
				return plain(values.destination);
			case 'DESTINATION_INSTANCE_NAME':
				return plain(values.destinationInstanceName);
			case 'DESTINATION_INSTANCE_ID':
				return plain(values.destinationInstanceId);
			case 'SANDBOX_NAME':
				return plain(values.sandboxName);
			case 'ORGANIZATION_NAME':
				return plain(values.organizationName);
			case 'EXPORT_TIME':
				return markTime ? TIME_MARK : plain(exportTimeStamp(values.exportTime));
			case 'DATETIME': {
				if (arg === undefined || !arg.trim()) throw new TemplateError('%DATETIME(…)% needs a format, e.g. %DATETIME(YYYYMMdd_HHmmss)%');
				const formatted = attempt(() => formatDateTime(values.exportTime, arg));
				if (!formatted.ok) throw new TemplateError(formatted.error.message);
				return markTime ? TIME_MARK : formatted.value;
			}
			default:
				throw new TemplateError(`unknown macro ${whole} (macros: ${MACROS.join(', ')})`);
		}
	});
}

/** Render a folder template to a clean store path (no `..`, no empty result). */
export function renderFolder(folderPath: string, template: string, values: TemplateValues): string {
	const rendered = expand(template, values, false);
	if (rendered.split('/').some((part) => part === '..')) throw new TemplateError(`"${template}" must not produce ".." segments`);
	const folder = cleanPath(`${folderPath}/${rendered}`);
	const problem = checkFolderName(folder, 'the export folder');
	if (problem) throw new TemplateError(problem);
	return folder;
}

/**
 * The part of the rendered folder that is the same for every export time: earlier exports of
 * the dataset (and their manifests) are all below it.
 */
export function stablePrefix(folderPath: string, template: string, values: TemplateValues): string {
	const marked = expand(template, values, true);
	const cut = marked.indexOf(TIME_MARK);
	const head = cut < 0 ? marked : marked.slice(0, marked.lastIndexOf('/', cut) + 1);
	return cleanPath(`${folderPath}/${head}`);
}

/** Check a template without rendering it for real. */
export function validateTemplate(template: string): void {
	expand(
		template,
		{
			datasetId: 'd',
			destination: 'x',
			destinationInstanceName: 'x',
			destinationInstanceId: 'x',
			sandboxName: 'x',
			organizationName: 'x',
			exportTime: new Date(0),
		},
		false,
	);
	if (template.split('/').some((part) => part === '..')) throw new TemplateError(`"${template}" must not contain ".." segments`);
}
