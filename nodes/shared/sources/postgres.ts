import { NodeOperationError, type INodeProperties } from 'n8n-workflow';
import { PostgresSource, type PostgresConnection } from '../../../lib/source/postgres';
import type { SourceOption } from './types';

/** The credential's fields as the library's connection (no secret is logged or echoed). */
export function postgresConnection(data: Record<string, unknown>): PostgresConnection {
	const ssl = data.ssl === 'require' || data.ssl === 'verify-full' ? data.ssl : 'disable';
	return {
		host: String(data.host ?? '').trim(),
		port: Number(data.port) || 5432,
		database: String(data.database ?? '').trim(),
		user: String(data.user ?? '').trim(),
		password: String(data.password ?? ''),
		ssl,
		ca: typeof data.ca === 'string' && data.ca.trim() ? data.ca : undefined,
	};
}

const seconds = (value: unknown, label: string, node: SourceOption['open'] extends (c: infer C) => unknown ? C : never): number | undefined => {
	if (value === undefined || value === null || value === '') return undefined;
	const n = Number(value);
	if (!Number.isFinite(n) || n < 0 || n > 86_400) {
		const error = new NodeOperationError(node.node, `${label} must be a number of seconds from 0 to 86400, not ${JSON.stringify(value)}`, { itemIndex: node.itemIndex });
		error.context.parameter = label === 'Safety Lag (Seconds)' ? 'safetyLagSeconds' : 'waitForTransactionsSeconds';
		throw error;
	}
	return n;
};

/** Read a table (the Dataset picker), or the rows of a SELECT named by the Dataset field. */
const queryProperties: INodeProperties[] = [
	{
		displayName: 'Read',
		name: 'postgresRead',
		type: 'options',
		options: [
			{ name: 'Table or View', value: 'table', description: 'The table or view the Dataset field names (schema.name)' },
			{ name: 'SQL Query', value: 'query', description: 'The rows of a SELECT; the Dataset field names the dataset they become' },
		],
		default: 'table',
	},
	{
		displayName: 'SQL Query',
		name: 'query',
		type: 'string',
		typeOptions: { editor: 'sqlEditor', sqlDialect: 'PostgreSQL' },
		default: '',
		placeholder: "SELECT id, amount, updated_at FROM orders WHERE region = 'EU'",
		description: 'One SELECT (run read-only, as a subquery). Incremental exports need a Cursor Column among its columns; the Dataset field (By ID) names the dataset, the same name every run.',
		displayOptions: { show: { postgresRead: ['query'] } },
	},
];

/** Tables and views of a PostgreSQL database (lib/source/postgres). */
export const postgres: SourceOption = {
	value: 'postgres',
	name: 'PostgreSQL',
	description: 'Tables and views of a PostgreSQL database',
	credential: 'datasetExportPostgresApi',
	properties: [],
	propertiesIn: {
		// Verify Export reconciles a query's ranges by running it again
		verifyExport: queryProperties,
		exportDataset: [
			...queryProperties,
			{
				displayName: 'Cursor Column',
				name: 'cursorColumn',
				type: 'string',
				default: '',
				placeholder: 'updated_at',
				description:
					'Incremental exports: the column that grows with every new or changed row (a timestamp set by the database, such as updated_at DEFAULT now(), or an ID from a sequence). Each export holds the rows after the last one. Empty: the primary key, when it is one integer column.',
			},
			{
				displayName: 'Wait for Open Transactions (Seconds)',
				name: 'waitForTransactionsSeconds',
				type: 'number',
				default: 60,
				typeOptions: { minValue: 0 },
				description:
					'Before reading, an incremental export waits for the transactions that were open when it looked: they could still commit rows with an older cursor value. Still open after this long: the run fails and nothing is exported.',
			},
			{
				displayName: 'Safety Lag (Seconds)',
				name: 'safetyLagSeconds',
				type: 'number',
				default: 0,
				typeOptions: { minValue: 0 },
				description:
					"Timestamp cursors set by the application's clock rather than the database's: rows newer than this wait for the next export (a reduced precision such as timestamptz(0) adds one unit by itself)",
			},
		],
	},
	test: async (data) => new PostgresSource(postgresConnection(data)).check(),
	noDateSelection: 'an incremental export holds the rows after the last one by the Cursor Column, a full export every row',
	open(context) {
		const { get, credentials } = context;
		const query = get('postgresRead') === 'query' ? String(get('query') ?? '') : undefined;
		if (!credentials) throw new NodeOperationError(context.node, 'PostgreSQL needs its credential', { itemIndex: context.itemIndex });
		const wait = seconds(get('waitForTransactionsSeconds'), 'Wait for Open Transactions (Seconds)', context);
		const lag = seconds(get('safetyLagSeconds'), 'Safety Lag (Seconds)', context);
		const cursor = get('cursorColumn');
		return new PostgresSource(async () => postgresConnection(await credentials('datasetExportPostgresApi')), {
			cursorColumn: typeof cursor === 'string' ? cursor : undefined,
			query,
			waitForTransactionsMs: wait === undefined ? undefined : wait * 1000,
			safetyLagSeconds: lag,
		});
	},
};
