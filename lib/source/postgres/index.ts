/**
 * PostgreSQL tables and views as datasets (issue 13; design: docs/notes/sources-design.md §1–§4).
 *
 * - A dataset is a table, view or materialized view the user may read, its id `schema.name`.
 * - A full export reads every row in one REPEATABLE READ snapshot.
 * - An incremental export reads a *range* of a cursor column (`(from, to]`): `from` is where the
 *   newest committed export ended (the engine hands it over), `to` the largest value visible now.
 *   The range is the batch, recorded in the commit and the manifest; two runs on the same head plan
 *   the same batch id (named by `from`) and only one commits.
 * - The cursor trap: a transaction that started before the range was planned may still commit rows
 *   with a cursor value at or below `to` (a `DEFAULT now()` is the transaction's start time, a
 *   sequence value is taken before the commit). Planning therefore lists every transaction open at
 *   its snapshot (their virtual transaction ids in pg_locks, which any user may read) and waits,
 *   bounded, until they have all ended; the rows are read after that, so a row such a transaction
 *   committed is in the range. Transactions still open after the wait fail the run (`busy`), naming
 *   them: nothing is exported out of order. Cursor values the application sets from its own clock
 *   are covered by a safety lag (timestamps only).
 * - Rows are read with a server-side cursor (pg-cursor), a chunk at a time: memory is bounded by the
 *   chunk whatever the table's size. Every value comes as PostgreSQL's text and is converted by
 *   ./types.ts, exactly.
 * - Every connection is opened for one operation and closed after it, with a connect timeout, a
 *   query timeout and bounded retries of a refused or dropped connection.
 */
import { createHash } from 'node:crypto';
import { Client, type ClientConfig } from 'pg';
import Cursor from 'pg-cursor';
import { RequestError } from '../../errors';
import { sleep } from '../../retry';
import type { Schema } from '../../schema';
import { datasetIdProblem } from '../local-lake';
import { SourceError, type BatchInfo, type BatchPosition, type DatasetInfo, type DatasetRecord, type ListBatchesOptions, type ReadOptions, type RecordChunk, type Source } from '../types';
import { MISMATCHES, type Mismatch } from '../../mismatch';
import { CURSOR_TYPES, fieldOf, isTimestampType, keptAsText, readerOf, Unfit, type ColumnInfo } from './types';

export interface PostgresConnection {
	host: string;
	port?: number;
	database: string;
	user: string;
	password?: string;
	/** `disable`, `require` (encrypted, certificate not checked) or `verify-full` (checked, against `ca` when given). */
	ssl?: 'disable' | 'require' | 'verify-full';
	/** PEM of the certificate authority for `verify-full`. */
	ca?: string;
	/** Connect timeout (default 10 s). */
	connectTimeoutMs?: number;
	/** Timeout of one query or fetch (default 300 s). */
	queryTimeoutMs?: number;
	/** Tries of a refused or dropped connection, the first included (default 3). */
	connectAttempts?: number;
}

export interface PostgresTableOptions {
	/**
	 * A SELECT whose rows are the dataset (named by the dataset id it is exported as) instead of a
	 * table; wrapped as a subquery, read in a read-only transaction like a table.
	 */
	query?: string;
	/** The cursor column of incremental exports (default: a single-column integer primary key). */
	cursorColumn?: string;
	/** How long planning waits for transactions open at its snapshot to end (default 60 s). */
	waitForTransactionsMs?: number;
	/** Timestamp cursors: rows newer than this many seconds before the snapshot wait for the next run (default 0). */
	safetyLagSeconds?: number;
}

/** Marks this package's own sessions: they only read, so planning never waits for them. */
export const APPLICATION_NAME = 'n8n-dataset-export';
// row_security=off: a table whose row-level security would hide rows from this user fails loudly instead
// default_transaction_read_only: nothing this package sends (a user's SQL Query included) can write
const SESSION_OPTIONS = '-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex -c row_security=off -c default_transaction_read_only=on';
const RELATION_KINDS: Record<string, string> = { r: 'table', p: 'partitioned table', v: 'view', m: 'materialized view', f: 'foreign table' };
const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

interface Relation {
	/** The dataset id: `schema.name`, or the name given to a query. */
	id: string;
	/** What the rows are selected FROM: the quoted table, or the query as a subquery. */
	from: string;
	schema: string;
	name: string;
	kind: string;
	estimate: number;
	size: number;
	comment: string | null;
	columns: ColumnInfo[];
	primaryKey: string[];
}

/** A pg error as a SourceError with the code the nodes explain; never the password. */
export function sourceErrorOf(error: unknown, where: string): Error {
	if (error instanceof SourceError || error instanceof RequestError) return error;
	const e = error as { code?: string; message?: string };
	const message = `${where}: ${e?.message ?? String(error)}`;
	if (e?.code === '28P01' || e?.code === '28000') return new SourceError(message, 'auth');
	if (e?.code === '42501' && /row-level security/i.test(e.message ?? '')) {
		return new SourceError(`${message}. The table has row-level security that would leave rows out: the user needs BYPASSRLS (or to own the table) so that every row is exported`, 'auth');
	}
	if (e?.code === '42501') return new SourceError(message, 'auth');
	if (e?.code === '3D000') return new SourceError(message, 'location');
	if (isConnectionError(error)) return new SourceError(message, 'unreachable');
	if (e?.code === '42P01' || e?.code === '42703') return new SourceError(message, 'not_found');
	return new SourceError(message, 'unreadable');
}

function isConnectionError(error: unknown): boolean {
	const e = error as { code?: string; message?: string };
	if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', '57P01', '57P03'].includes(e?.code ?? '')) return true;
	return /timeout expired|Connection terminated|connection timeout|Query read timeout/i.test(e?.message ?? '');
}

export class PostgresSource implements Source {
	readonly type = 'postgres';

	constructor(
		private readonly connection: PostgresConnection | (() => Promise<PostgresConnection>),
		private readonly options: PostgresTableOptions = {},
	) {}

	// -------------------------------------------------------------------------------------------
	// connections

	private queryTimeoutMs(c?: PostgresConnection): number {
		const value = (c ?? (typeof this.connection === 'function' ? undefined : this.connection))?.queryTimeoutMs;
		return value && value > 0 ? value : 300_000;
	}

	private async config(): Promise<ClientConfig> {
		const c = typeof this.connection === 'function' ? await this.connection() : this.connection;
		const ssl = c.ssl === 'require' ? { rejectUnauthorized: false } : c.ssl === 'verify-full' ? { rejectUnauthorized: true, ...(c.ca ? { ca: c.ca } : {}) } : false;
		return {
			host: c.host,
			port: c.port ?? 5432,
			database: c.database,
			user: c.user,
			password: c.password ?? '',
			ssl,
			connectionTimeoutMillis: c.connectTimeoutMs ?? 10_000,
			// no client-wide query_timeout: pg's timer is never cleared for a cursor (it fired into
			// long reads); the server bounds each statement and this file bounds each wait for an answer
			keepAlive: true,
			keepAliveInitialDelayMillis: 30_000,
			application_name: APPLICATION_NAME,
			options: `${SESSION_OPTIONS} -c statement_timeout=${Math.round(this.queryTimeoutMs(c))}`,
			// every value as PostgreSQL's text: ./types.ts converts it exactly
			types: { getTypeParser: () => (text: string) => text } as unknown as ClientConfig['types'],
			...({ connectAttempts: c.connectAttempts } as object),
		};
	}

	/** A connected client, retried (bounded) while the server refuses or drops the connection. */
	private async connect(signal?: AbortSignal): Promise<Client> {
		const config = await this.config();
		const attempts = Math.max(1, (config as { connectAttempts?: number }).connectAttempts ?? 3);
		for (let attempt = 1; ; attempt++) {
			signal?.throwIfAborted();
			const client = new Client(config);
			client.on('error', () => undefined); // a dropped idle connection surfaces in the next query
			try {
				await client.connect();
				return client;
			} catch (error) {
				await client.end().catch(() => undefined);
				if (attempt >= attempts || !isConnectionError(error)) throw sourceErrorOf(error, `PostgreSQL ${config.host}:${config.port}/${config.database}`);
				await sleep(250 * 2 ** (attempt - 1), signal);
			}
		}
	}

	private async use<T>(what: string, run: (client: Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
		const client = await this.connect(signal);
		const onAbort = () => void client.end().catch(() => undefined);
		signal?.addEventListener('abort', onAbort, { once: true });
		// the whole operation, the wait for open transactions included, is bounded
		const limit = this.queryTimeoutMs() + (this.options.waitForTransactionsMs ?? 60_000);
		try {
			return await answerWithin(run(client), limit, client, what);
		} catch (error) {
			signal?.throwIfAborted();
			throw sourceErrorOf(error, what);
		} finally {
			signal?.removeEventListener('abort', onAbort);
			await client.end().catch(() => undefined);
		}
	}

	/** The credential's Test button: log in, and say who, where and how many tables and views this user may read. */
	async check(): Promise<string> {
		return this.use('checking the connection', async (client) => {
			const row = (
				await client.query(
					`SELECT current_user AS who, split_part(current_setting('server_version'), ' ', 1) AS version, current_database() AS db,
					        (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
					          WHERE c.relkind IN ('r','p','v','m','f') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema')
					            AND n.nspname NOT LIKE 'pg\\_%' AND has_table_privilege(c.oid, 'SELECT'))::text AS readable,
					        coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS tls`,
				)
			).rows[0];
			const tls = row.tls === true || row.tls === 't';
			return `Connected to PostgreSQL ${row.version} as ${row.who}: database ${row.db} has ${row.readable} table(s) and view(s) this user may read; the connection is ${tls ? 'encrypted (TLS)' : 'not encrypted'}`;
		});
	}

	// -------------------------------------------------------------------------------------------
	// catalog

	private async relations(client: Client, id?: string): Promise<Relation[]> {
		const rels = await client.query(
			`SELECT c.oid::int8::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind AS kind, c.reltuples::float8::text AS estimate,
			        CASE WHEN c.relkind IN ('r','m','p') THEN pg_total_relation_size(c.oid) ELSE 0 END::text AS size,
			        obj_description(c.oid, 'pg_class') AS comment
			   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			  WHERE c.relkind IN ('r','p','v','m','f') AND NOT c.relispartition
			    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
			    AND has_table_privilege(c.oid, 'SELECT') AND ($1::text IS NULL OR n.nspname || '.' || c.relname = $1)
			  ORDER BY 2, 3`,
			[id ?? null],
		);
		if (!rels.rows.length) return [];
		const oids = rels.rows.map((r) => r.oid);
		const cols = await client.query(
			`SELECT a.attrelid::int8::text AS rel, a.attname AS name, a.attnotnull AS "notNull",
			        bt.typname AS type, ebt.typname AS element,
			        CASE WHEN et.typtype = 'd' THEN et.typtypmod WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END::text AS typmod,
			        format_type(a.atttypid, a.atttypmod) AS sql
			   FROM pg_attribute a
			   JOIN pg_type t ON t.oid = a.atttypid
			   JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
			   -- an array's element, a domain resolved to its base type (numeric(10,2) under money2[])
			   LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
			   LEFT JOIN pg_type ebt ON ebt.oid = CASE WHEN et.typtype = 'd' THEN et.typbasetype ELSE et.oid END
			  WHERE a.attrelid = ANY($1::int8[]::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
			  ORDER BY a.attrelid, a.attnum`,
			[oids],
		);
		const keys = await client.query(
			`SELECT i.indrelid::int8::text AS rel, array_agg(a.attname::text ORDER BY k.ord)::text AS cols
			   FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
			   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
			  WHERE i.indisprimary AND i.indrelid = ANY($1::int8[]::oid[])
			  GROUP BY i.indrelid`,
			[oids],
		);
		const columnsOf = new Map<string, ColumnInfo[]>();
		for (const c of cols.rows) {
			const list = columnsOf.get(c.rel) ?? [];
			list.push({ name: c.name, type: c.type, element: c.element ?? null, typmod: Number(c.typmod), notNull: c.notNull === 't' || c.notNull === true, sql: c.sql });
			columnsOf.set(c.rel, list);
		}
		const keyOf = new Map<string, string[]>(keys.rows.map((k) => [k.rel, parseTextArray(k.cols)]));
		return rels.rows.map((r) => ({
			id: `${r.schema}.${r.name}`,
			from: `${quote(r.schema)}.${quote(r.name)}`,
			schema: r.schema,
			name: r.name,
			kind: RELATION_KINDS[r.kind] ?? 'relation',
			estimate: Number(r.estimate),
			size: Number(r.size),
			comment: r.comment,
			columns: columnsOf.get(r.oid) ?? [],
			primaryKey: keyOf.get(r.oid) ?? [],
		}));
	}

	private async info(client: Client, rel: Relation): Promise<DatasetInfo> {
		const id = rel.id;
		const problem = datasetIdProblem(id) ? `its name ${JSON.stringify(id)} cannot be a dataset id (letters, digits, ".", "_" and "-" only)` : rel.columns.length ? undefined : 'it has no columns';
		let nonEmpty = false;
		if (!problem) nonEmpty = (await client.query(`SELECT EXISTS (SELECT 1 FROM ${rel.from}) AS any`)).rows[0].any === 't';
		const schema: Schema | undefined = rel.columns.length ? { fields: rel.columns.map(fieldOf) } : undefined;
		const estimate = rel.estimate >= 0 ? Math.round(rel.estimate) : null;
		const asText = rel.columns.filter(keptAsText).map((c) => `${c.name} (${c.sql})`);
		const description = [
			`PostgreSQL ${rel.kind}${estimate !== null && rel.kind !== 'view' ? `, about ${estimate} rows (planner estimate)` : ''}`,
			rel.primaryKey.length ? `primary key ${rel.primaryKey.join(', ')}` : '',
			asText.length ? `kept as text: ${asText.join(', ')}` : '',
			rel.comment ?? '',
		]
			.filter(Boolean)
			.join('; ');
		return {
			id,
			name: id,
			description,
			kind: 'event',
			tier: 'Prime',
			tags: [rel.kind],
			enabled: true,
			schema,
			schemaSource: schema ? 'declared' : 'none',
			// the planner's estimate (0 for a table never analysed): the dataset's emptiness is checked, not estimated
			recordCount: nonEmpty ? estimate || null : 0,
			sizeBytes: rel.size,
			batchCount: nonEmpty ? 1 : 0,
			lastIngestedAt: null,
			...(problem ? { problem } : {}),
		};
	}

	async listDatasets(): Promise<DatasetInfo[]> {
		// a query is one dataset named where it is used: nothing to list
		if (this.options.query) return [];
		return this.use('listing the tables', async (client) => {
			const out: DatasetInfo[] = [];
			for (const rel of await this.relations(client)) out.push(await this.info(client, rel));
			return out;
		});
	}

	private async relation(client: Client, id: string): Promise<Relation> {
		if (this.options.query) return queryRelation(client, id, this.options.query);
		const [rel] = await this.relations(client, id);
		if (!rel) throw new SourceError(`dataset "${id}" does not exist: no table or view of that name (schema.name) that this user may read`, 'not_found');
		return rel;
	}

	async getDataset(id: string): Promise<DatasetInfo> {
		return this.use(`reading table ${id}`, async (client) => this.info(client, await this.relation(client, id)));
	}

	// -------------------------------------------------------------------------------------------
	// batches: one range (incremental) or everything (full)

	/** The cursor column of a relation, checked: the option, else a single integer primary key. */
	private cursorOf(rel: Relation): ColumnInfo {
		const id = `${rel.schema}.${rel.name}`;
		// the default: a primary key that is one integer column (a sequence); any other key need not grow
		const key = rel.primaryKey.length === 1 ? rel.columns.find((c) => c.name === rel.primaryKey[0]) : undefined;
		const name = this.options.cursorColumn?.trim() || (key && ['int2', 'int4', 'int8'].includes(key.type) ? key.name : '');
		const column = rel.columns.find((c) => c.name === name);
		if (!name) {
			throw new RequestError(
				`Cursor Column: ${id} needs a column that grows with every new or changed row (such as updated_at, or an id from a sequence) for incremental exports; it has no primary key that is one integer column to use instead`,
				'cursorColumn',
			);
		}
		if (!column) throw new RequestError(`Cursor Column: ${id} has no column "${name}" (its columns: ${rel.columns.map((c) => c.name).join(', ')})`, 'cursorColumn');
		if (column.element || !CURSOR_TYPES.has(column.type)) {
			throw new RequestError(`Cursor Column: "${name}" of ${id} is ${column.sql}; a cursor must be an integer, numeric, timestamp, date, text or uuid column`, 'cursorColumn');
		}
		return column;
	}

	async listBatches(datasetId: string, options: ListBatchesOptions = {}): Promise<BatchInfo[]> {
		const { signal } = options;
		return this.use(
			`planning the export of ${datasetId}`,
			async (client) => {
				const rel = await this.relation(client, datasetId);
				const table = rel.from;
				if (options.mode === 'full') {
					await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
					const row = (await client.query(`SELECT now()::text AS at, EXISTS (SELECT 1 FROM ${table}) AS any`)).rows[0];
					await client.query('COMMIT');
					if (row.any !== 't') return [];
					return [{ id: 'all-rows', ingestedAt: isoOf(row.at), recordCount: null, sizeBytes: 0, files: [] }];
				}
				const cursor = this.cursorOf(rel);
				const after = options.after ?? null;
				if (after && after.columns[0] !== cursor.name) {
					throw new RequestError(
						`Cursor Column: the exports of ${datasetId} here continue by "${after.columns[0]}", not "${cursor.name}". Keep the Cursor Column, or export into another folder`,
						'cursorColumn',
					);
				}
				if (rel.kind === 'foreign table') {
					throw new SourceError(`${datasetId} is a foreign table: rows written on its remote server cannot be waited for, so an incremental export could miss some. Use a full export`, 'invalid');
				}
				// a replica's pg_locks shows none of the primary's transactions: the trap could not be closed
				if ((await client.query('SELECT pg_is_in_recovery() AS standby')).rows[0].standby === 't') {
					throw new SourceError(
						`the server is a read replica (hot standby): an incremental export must see the transactions still open on the primary, which a replica cannot. Point the credential at the primary, or use a full export`,
						'location',
					);
				}
				const c = quote(cursor.name);
				const plan = cursorPlan(cursor, c, Math.max(0, this.options.safetyLagSeconds ?? 0));
				// the snapshot: the last settled cursor value after `from`, and every transaction open at it
				await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
				const conditions = [`${c} IS NOT NULL`, ...plan.conditions];
				const params: unknown[] = [];
				if (after) conditions.push(`${c} > CAST($${params.push(after.to[0])} AS ${cursor.sql})`);
				const where = conditions.join(' AND ');
				// the newest value, or (for cursors the application sets) the one below it: rows at the newest value wait
				const top = plan.excludeNewest
					? `SELECT ${c} AS v FROM ${table} WHERE ${where} AND ${c} < (SELECT ${c} FROM ${table} WHERE ${where} ORDER BY ${c} DESC LIMIT 1) ORDER BY ${c} DESC LIMIT 1`
					: `SELECT ${c} AS v FROM ${table} WHERE ${where} ORDER BY ${c} DESC LIMIT 1`;
				const row = (await client.query(`SELECT now()::text AS at, (SELECT v::text FROM (${top}) AS t) AS "to"`, params)).rows[0];
				const open = await openTransactions(client);
				const unreachable = (
					await client.query(
						`SELECT count(*) FILTER (WHERE ${c} IS NULL)::text AS nulls${plan.odd ? `, count(*) FILTER (WHERE ${plan.odd})::text AS odd` : ''} FROM ${table} WHERE ${c} IS NULL${plan.odd ? ` OR ${plan.odd}` : ''}`,
					)
				).rows[0];
				await client.query('COMMIT');
				if (Number(unreachable.nulls))
					options.warn?.(`${unreachable.nulls} row(s) of ${datasetId} have no ${cursor.name} (NULL): incremental exports by ${cursor.name} do not include them (a full export does)`);
				if (Number(unreachable.odd ?? 0))
					options.warn?.(
						`${unreachable.odd} row(s) of ${datasetId} have a ${cursor.name} that is not a finite value (infinity, NaN): incremental exports by ${cursor.name} do not include them (a full export does)`,
					);
				const cache = await sequenceCache(client, table, cursor.name);
				if (cache > 1)
					options.warn?.(
						`the sequence of ${cursor.name} hands out ${cache} values at a time per session (CACHE ${cache}): ids then commit out of order across sessions and an incremental export by ${cursor.name} can miss rows. ALTER SEQUENCE … CACHE 1, or use a timestamp cursor`,
					);
				if (row.to === null) return [];
				await waitForTransactions(client, open, this.options.waitForTransactionsMs ?? 60_000, datasetId, signal);
				const from = after ? after.to : null;
				const position: BatchPosition = { columns: [cursor.name], from, to: [row.to] };
				const count = await countRange(client, table, c, position);
				return [{ id: rangeId(position), ingestedAt: isoOf(row.at), recordCount: count, sizeBytes: 0, files: [], position }];
			},
			signal,
		);
	}

	async countBatch(datasetId: string, batch: { id: string; position?: BatchPosition }, signal?: AbortSignal): Promise<number | null> {
		if (!batch.position) return null;
		const position = batch.position;
		return this.use(
			`counting ${datasetId}`,
			async (client) => {
				const rel = await this.relation(client, datasetId);
				return countRange(client, rel.from, quote(position.columns[0]), position);
			},
			signal,
		);
	}

	async *readBatch(dataset: DatasetInfo, batch: BatchInfo, options: ReadOptions = {}): AsyncGenerator<DatasetRecord[]> {
		const { signal } = options;
		const size = Math.max(1, options.chunkSize ?? 2000);
		const client = await this.connect(signal);
		const onAbort = () => void client.end().catch(() => undefined);
		signal?.addEventListener('abort', onAbort, { once: true });
		const where = `reading ${dataset.id}`;
		const timeout = this.queryTimeoutMs();
		// every call waits for its answer a bounded time (a dead connection cannot hang the run)
		const ask = <T>(promise: Promise<T>) =>
			answerWithin(promise, timeout, client, where).catch((error: unknown) => {
				signal?.throwIfAborted();
				throw sourceErrorOf(error, where);
			});
		try {
			const rel = await ask(this.relation(client, dataset.id));
			const readers = rel.columns.map((column) => readerOf(column, quote(column.name)));
			const names = rel.columns.map((column) => column.name);
			const position = batch.position;
			const order = position ? [position.columns[0], ...rel.primaryKey.filter((k) => k !== position.columns[0])] : rel.primaryKey;
			const range = position ? rangeSql(quote(position.columns[0]), position) : { where: '', params: [] };
			const sql = `SELECT ${readers.map((r) => r.select).join(', ')} FROM ${rel.from}${range.where}${order.length ? ` ORDER BY ${order.map(quote).join(', ')}` : ''}`;
			await ask(client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'));
			// the server would count the whole cursor as one statement (encoding and uploads included):
			// each fetch is bounded here instead
			await ask(client.query('SET LOCAL statement_timeout = 0'));
			const cursor = client.query(new Cursor(sql, range.params, { rowMode: 'array' }));
			for (;;) {
				signal?.throwIfAborted();
				const rows = (await ask(cursor.read(size))) as unknown as (string | null)[][];
				if (!rows.length) break;
				const chunk: RecordChunk = new Array(rows.length);
				let unfit: Mismatch[] | undefined;
				for (let i = 0; i < rows.length; i++) {
					const row = rows[i];
					const record: DatasetRecord = {};
					for (let j = 0; j < names.length; j++) {
						const text = row[j];
						const value = text === null ? null : readers[j].convert(text);
						if (value instanceof Unfit) {
							// the source's text is kept, and the engine applies On Schema Mismatch
							(unfit ??= []).push({ index: i, kind: 'type', path: names[j], expected: value.expected, value: value.text, detail: value.detail });
							record[names[j]] = value.text;
						} else record[names[j]] = value;
					}
					chunk[i] = record;
				}
				if (unfit) chunk[MISMATCHES] = unfit;
				yield chunk;
			}
			await ask(cursor.close());
			await ask(client.query('COMMIT'));
		} finally {
			signal?.removeEventListener('abort', onAbort);
			await endClient(client);
		}
	}
}

/** End a connection, bounded: a connection that does not answer is destroyed. */
async function endClient(client: Client): Promise<void> {
	let timer: NodeJS.Timeout | undefined;
	const ended = await Promise.race([
		client.end().then(
			() => true,
			() => true,
		),
		new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 2000))),
	]);
	clearTimeout(timer);
	if (!ended) (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/** A query as a relation: its columns and their types from PostgreSQL's description of its result (no row is read). */
async function queryRelation(client: Client, id: string, query: string): Promise<Relation> {
	const problem = datasetIdProblem(id);
	if (problem) throw new SourceError(problem, 'invalid');
	const sql = query.trim().replace(/;\s*$/, '');
	if (!sql) throw new RequestError('SQL Query is empty: write the SELECT whose rows are the dataset', 'query');
	const from = `(${sql}) AS "query"`;
	const described = await client.query({ text: `SELECT * FROM ${from} LIMIT 0`, rowMode: 'array' }).catch((error: Error & { code?: string }) => {
		if (error.code === '42601' || error.code === '42P01' || error.code === '42703' || error.code === '42883' || error.code === '25006') {
			throw new RequestError(`SQL Query: ${error.message} (the query must be one SELECT, without a semicolon inside)`, 'query');
		}
		throw error;
	});
	const fields = described.fields;
	const names = fields.map((f) => f.name);
	const duplicate = names.find((n, i) => names.indexOf(n) !== i);
	if (duplicate) throw new RequestError(`SQL Query: the column "${duplicate}" appears twice in its result: give each column its own name (AS …)`, 'query');
	const types = await client.query(
		`SELECT t.oid::int8::text AS oid, bt.typname AS type, ebt.typname AS element, CASE WHEN et.typtype = 'd' THEN et.typtypmod WHEN t.typtype = 'd' THEN t.typtypmod ELSE -1 END::text AS typmod
		   FROM pg_type t
		   JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
		   LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
		   LEFT JOIN pg_type ebt ON ebt.oid = CASE WHEN et.typtype = 'd' THEN et.typbasetype ELSE et.oid END
		  WHERE t.oid = ANY($1::int8[]::oid[])`,
		[fields.map((f) => String(f.dataTypeID))],
	);
	const typeOf = new Map(types.rows.map((r) => [r.oid, r]));
	const sqlTypes = await client.query(`SELECT format_type(o::oid, m) AS sql FROM unnest($1::int8[], $2::int4[]) AS x(o, m)`, [
		fields.map((f) => String(f.dataTypeID)),
		fields.map((f) => f.dataTypeModifier),
	]);
	const columns: ColumnInfo[] = fields.map((f, i) => {
		const t = typeOf.get(String(f.dataTypeID));
		const typmod = f.dataTypeModifier >= 0 ? f.dataTypeModifier : Number(t?.typmod ?? -1);
		return { name: f.name, type: t?.type ?? 'unknown', element: t?.element ?? null, typmod, notNull: false, sql: sqlTypes.rows[i].sql };
	});
	return { id, from, schema: '', name: id, kind: 'query', estimate: -1, size: 0, comment: null, columns, primaryKey: [] };
}

/** `promise`, or SourceError `unreachable` (the connection closed) when no answer came within `ms`. */
async function answerWithin<T>(promise: Promise<T>, ms: number, client: Client, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const expired = new Promise<never>((_, reject) => {
		timer = setTimeout(() => {
			void client.end().catch(() => undefined);
			reject(new SourceError(`${what}: PostgreSQL did not answer within ${Math.round(ms / 1000)} s`, 'unreachable'));
		}, ms);
	});
	try {
		return await Promise.race([promise, expired]);
	} finally {
		clearTimeout(timer);
	}
}

/**
 * Which cursor values are settled when an export plans (no transaction that starts later can write
 * one at or below them), by the cursor's type:
 * - integers (sequences): every value up to the newest;
 * - timestamps: up to now minus Safety Lag, and minus one unit of a reduced precision
 *   (timestamptz(0) rounds a later transaction's now() up to half a second back);
 * - dates: up to the day before yesterday (UTC), so a writer in any time zone is past them;
 * - numeric, text, uuid (values the application chooses): below the newest value, whose rows wait
 *   for the next run, so rows written later with that same value are not split off.
 * Values that are not finite (infinity, NaN) sort past every other and are left out (counted).
 */
function cursorPlan(cursor: ColumnInfo, c: string, safetyLagSeconds: number): { conditions: string[]; odd?: string; excludeNewest: boolean } {
	if (cursor.type === 'int2' || cursor.type === 'int4' || cursor.type === 'int8') return { conditions: [], excludeNewest: false };
	if (isTimestampType(cursor.type)) {
		const precision = cursor.typmod >= 0 && cursor.typmod < 6 ? cursor.typmod : 6;
		const lag = safetyLagSeconds + (precision < 6 ? 10 ** -precision : 0);
		return {
			conditions: [`isfinite(${c})`, ...(lag ? [`${c} < now() - make_interval(secs => ${lag})`] : [])],
			odd: `NOT isfinite(${c})`,
			excludeNewest: false,
		};
	}
	if (cursor.type === 'date') return { conditions: [`isfinite(${c})`, `${c} < current_date - 1`], odd: `NOT isfinite(${c})`, excludeNewest: false };
	if (cursor.type === 'numeric') {
		const odd = `${c}::text IN ('NaN', 'Infinity', '-Infinity')`;
		return { conditions: [`NOT (${odd})`], odd, excludeNewest: true };
	}
	return { conditions: [], excludeNewest: true };
}

/** The CACHE of the sequence that fills a column (1 when it has none). */
async function sequenceCache(client: Client, table: string, column: string): Promise<number> {
	const row = (await client.query(`SELECT s.seqcache::text AS cache FROM pg_sequence s WHERE s.seqrelid = pg_get_serial_sequence($1, $2)::regclass`, [table, column]).catch(() => ({ rows: [] })))
		.rows[0] as { cache?: string } | undefined;
	return Number(row?.cache ?? 1);
}

/** `(from, to]` of a cursor column, as SQL and its parameters (the values as PostgreSQL wrote them). */
function rangeSql(column: string, position: BatchPosition): { where: string; params: string[] } {
	if (position.from === null) return { where: ` WHERE ${column} <= $1`, params: [position.to[0]] };
	return { where: ` WHERE ${column} > $1 AND ${column} <= $2`, params: [position.from[0], position.to[0]] };
}

async function countRange(client: Client, table: string, column: string, position: BatchPosition): Promise<number> {
	const range = rangeSql(column, position);
	return Number((await client.query(`SELECT count(*)::text AS n FROM ${table}${range.where}`, range.params)).rows[0].n);
}

/** The batch id of a range: named by where it starts, so two runs planned on the same head plan the same batch. */
function rangeId(position: BatchPosition): string {
	if (position.from === null) return `${position.columns[0]}:start`;
	const text = position.from.join(',');
	return text.length <= 80 ? `${position.columns[0]}>${text}` : `${position.columns[0]}>sha256:${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
}

/** `2026-11-28 10:00:00.123456+00` → ISO-8601 UTC. */
function isoOf(text: string): string {
	const d = new Date(text.replace(' ', 'T').replace(/\+00$/, 'Z'));
	return Number.isNaN(d.getTime()) ? new Date().toISOString() : d.toISOString();
}

/** `{a,"b c"}` (array_agg of names as text) → names. */
function parseTextArray(text: string): string[] {
	const out: string[] = [];
	const re = /"((?:[^"\\]|\\.)*)"|([^,{}]+)/g;
	for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]);
	return out;
}

interface OpenTransactions {
	vxids: string[];
	prepared: string[];
}

/**
 * Transactions open now, other than this session and other sessions of this package (they only
 * read): their virtual transaction ids (every transaction holds a lock on its own, pg_locks shows
 * them to any user) and prepared transactions of this database. Autovacuum writes no rows and
 * sessions in other databases cannot write this table: both are left out where pg_stat_activity
 * shows them to this user (with pg_read_all_stats, always).
 */
async function openTransactions(client: Client): Promise<OpenTransactions> {
	const locks = await client.query(
		`SELECT l.virtualxid FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
		  WHERE l.locktype = 'virtualxid' AND l.granted AND l.pid IS DISTINCT FROM pg_backend_pid()
		    AND coalesce(a.backend_type, '') NOT IN ('autovacuum worker', 'autovacuum launcher')
		    AND (a.datid IS NULL OR a.datid = (SELECT oid FROM pg_database WHERE datname = current_database()))
		    AND coalesce(a.application_name, '') <> $1`,
		[APPLICATION_NAME],
	);
	const prepared = await client.query(`SELECT gid FROM pg_prepared_xacts WHERE database = current_database()`);
	return { vxids: locks.rows.map((r) => r.virtualxid), prepared: prepared.rows.map((r) => r.gid) };
}

/** Wait (bounded) until every transaction in `open` has ended; SourceError `busy` naming those that did not. */
async function waitForTransactions(client: Client, open: OpenTransactions, waitMs: number, datasetId: string, signal?: AbortSignal): Promise<void> {
	if (!open.vxids.length && !open.prepared.length) return;
	const started = Date.now();
	for (let pause = 20; ; pause = Math.min(500, pause * 2)) {
		const left = (
			await client.query(
				`SELECT l.virtualxid, l.pid, a.state, a.xact_start::text AS since
				   FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
				  WHERE l.locktype = 'virtualxid' AND l.granted AND l.virtualxid = ANY($1::text[])
				 UNION ALL
				 SELECT gid, NULL, 'prepared', prepared::text FROM pg_prepared_xacts WHERE gid = ANY($2::text[]) AND database = current_database()`,
				[open.vxids, open.prepared],
			)
		).rows;
		if (!left.length) return;
		if (Date.now() - started >= waitMs) {
			const named = left
				.slice(0, 5)
				.map((t) => (t.pid ? `pid ${t.pid}${t.state ? ` (${t.state}${t.since ? `, since ${t.since}` : ''})` : ''}` : `prepared transaction ${t.virtualxid}`))
				.join(', ');
			throw new SourceError(
				`${left.length} transaction(s) open since before this export planned ${datasetId} were still running after ${Math.round(waitMs / 1000)} s: ${named}. Rows they commit could have cursor values inside the range, so nothing was exported; the next run tries again. End or shorten those transactions, or raise Wait for Open Transactions`,
				'busy',
			);
		}
		await sleep(pause, signal);
	}
}
