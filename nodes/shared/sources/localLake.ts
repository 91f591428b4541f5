import { NodeOperationError } from 'n8n-workflow';
import { LocalLakeSource } from '../../../lib/source/local-lake';
import type { SourceOption } from './types';

/** A folder on the n8n host with one sub-folder per dataset (lib/source/local-lake). */
export const localLake: SourceOption = {
	value: 'localLake',
	name: 'Local Lake',
	description: 'A folder with one sub-folder per dataset',
	properties: [
		{
			displayName: 'Lake Path',
			name: 'lakePath',
			type: 'string',
			default: '',
			required: true,
			placeholder: '/data/lake',
			description: 'Folder of the local lake on the n8n host: one sub-folder per dataset (a metadata file plus a batches folder), or plain sub-folders of data files',
			hint: 'A leading ~ is the home folder of the user n8n runs as (/home/node in the Docker image)',
		},
	],
	locationParameter: 'lakePath',
	open({ get, node, itemIndex, fileAccess }) {
		const raw = get('lakePath');
		const lakeError = (message: string, description: string) => {
			const error = new NodeOperationError(node, message, { itemIndex, description });
			error.context.parameter = 'lakePath';
			return error;
		};
		if (raw !== undefined && raw !== null && typeof raw !== 'string') {
			throw lakeError(`Lake Path must be text (a folder path), not ${typeof raw === 'object' ? 'an object' : String(raw)}`, 'Check the parameter "Lake Path".');
		}
		const lakePath = String(raw ?? '').trim();
		if (!lakePath) throw lakeError('Lake Path is empty', 'Set Lake Path to the folder that holds the datasets (one sub-folder each).');
		if (lakePath.includes('\u0000')) throw lakeError('Lake Path must not contain a NUL character (\\0)', 'Check the parameter "Lake Path".');
		return new LocalLakeSource(lakePath, { isBlocked: fileAccess });
	},
};
