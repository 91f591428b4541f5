/**
 * Parquet through hyparquet-writer: row groups are encoded as records arrive and flushed to the
 * sink one by one (the writer awaits our flush, which awaits the sink), so a file is uploaded
 * while it is written and memory holds at most one row group.
 *
 * Types: string→UTF8, int→INT32, long→INT64, double→DOUBLE, boolean→BOOLEAN,
 * timestamp→INT64 TIMESTAMP(MICROS, UTC), date→INT32 DATE, json→BYTE_ARRAY JSON,
 * object→group, array→3-level LIST.
 */
import type { Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import { ByteWriter, ParquetWriter, type SchemaElement } from 'hyparquet-writer';
import { stringifyJson } from '../json';
import type { Field, Schema } from '../schema';
import type { DatasetRecord } from '../source/types';
import { endSink, FormatError, writeTo, type Codec, type EncodedFile, type Encoder } from './types';

export interface ParquetOptions {
	/** Rows per row group (default 10,000: memory grows with it). The first group of a file is smaller, to learn row sizes. */
	rowGroupRows?: number;
	/** Target file size: a row group is flushed early so the file can close near this size. */
	maxFileBytes?: number;
	/** Value written as the file's `created_by`. */
	createdBy?: string;
}

type Convert = (value: unknown) => unknown;

const zstdCompressSync = (zlib as unknown as { zstdCompressSync?: (b: Uint8Array) => Buffer }).zstdCompressSync;

/** Whether this runtime can write a Parquet codec, and why not. */
export function parquetCodecProblem(codec: Codec): string | undefined {
	if (codec === 'zstd' && !zstdCompressSync) {
		return `ZSTD needs Node.js 22.15 or newer (this runtime is ${process.version}); choose Snappy or Gzip`;
	}
	return undefined;
}

const COMPRESSORS = {
	GZIP: (input: Uint8Array) => new Uint8Array(zlib.gzipSync(input)),
	...(zstdCompressSync ? { ZSTD: (input: Uint8Array) => new Uint8Array(zstdCompressSync(input)) } : {}),
};

const PARQUET_CODEC: Record<Codec, 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP' | 'ZSTD'> = {
	none: 'UNCOMPRESSED',
	snappy: 'SNAPPY',
	gzip: 'GZIP',
	zstd: 'ZSTD',
};

function bad(path: string, type: string, value: unknown): FormatError {
	let shown: string;
	try {
		shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : stringifyJson(value)?.slice(0, 40) ?? String(value);
	} catch {
		shown = String(value);
	}
	return new FormatError(`field "${path}": expected ${type}, got ${shown}`);
}

/** Parquet schema elements for one field (depth-first, as Parquet lists them). */
function elementsFor(field: Omit<Field, 'name'> & { name: string }, required = false): SchemaElement[] {
	const repetition_type = required || field.nullable === false ? 'REQUIRED' : 'OPTIONAL';
	const base = { name: field.name, repetition_type } as const;
	switch (field.type) {
		case 'string':
			return [{ ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } }];
		case 'json':
			return [{ ...base, type: 'BYTE_ARRAY', converted_type: 'JSON', logical_type: { type: 'JSON' } }];
		case 'int':
			return [{ ...base, type: 'INT32' }];
		case 'long':
			return [{ ...base, type: 'INT64' }];
		case 'double':
			return [{ ...base, type: 'DOUBLE' }];
		case 'boolean':
			return [{ ...base, type: 'BOOLEAN' }];
		case 'date':
			return [{ ...base, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } }];
		case 'timestamp':
			return [
				{
					...base,
					type: 'INT64',
					converted_type: 'TIMESTAMP_MICROS',
					logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
				},
			];
		case 'object': {
			const children = (field.fields ?? []).flatMap((f) => elementsFor(f));
			return [{ ...base, num_children: field.fields?.length ?? 0 }, ...children];
		}
		case 'array':
			return [
				{ ...base, converted_type: 'LIST', logical_type: { type: 'LIST' }, num_children: 1 },
				{ name: 'list', repetition_type: 'REPEATED', num_children: 1 },
				...elementsFor({ ...(field.items as Field), name: 'element' }),
			];
	}
}

export function parquetSchema(schema: Schema): SchemaElement[] {
	return [{ name: 'schema', num_children: schema.fields.length }, ...schema.fields.flatMap((f) => elementsFor(f))];
}

const MIN_INT32 = -2147483648;
const MAX_INT32 = 2147483647;

const DAY_MS = 86_400_000;

/** Milliseconds since the epoch of a timestamp value, or NaN. */
function epochMs(v: unknown): number {
	if (typeof v === 'string') return Date.parse(v);
	if (v instanceof Date) return v.getTime();
	if (typeof v === 'number') return v;
	return NaN;
}

/**
 * A converter from a record value to what hyparquet-writer takes for the field's column.
 * Nested objects and lists are normalised in place (the records are this export's own), and
 * timestamps and dates become plain numbers (µs, days) rather than Date objects: no allocation
 * per value on the hot path.
 */
function converterFor(field: Omit<Field, 'name'>, path: string): Convert {
	const nullable = field.nullable !== false;
	const wrap = (convert: Convert): Convert => (value) => {
		if (value === null || value === undefined) {
			if (!nullable) throw new FormatError(`field "${path}": is required but missing`);
			return null;
		}
		return convert(value);
	};
	switch (field.type) {
		case 'string':
			return wrap((v) => (typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : typeof v === 'object' ? stringifyJson(v) : String(v)));
		case 'json':
			return wrap((v) => stringifyJson(v));
		case 'int':
			return wrap((v) => {
				const n = typeof v === 'number' ? v : typeof v === 'bigint' || typeof v === 'string' ? Number(v) : NaN;
				if (!Number.isInteger(n) || n < MIN_INT32 || n > MAX_INT32) throw bad(path, 'a 32-bit integer', v);
				return n;
			});
		case 'long':
			return wrap((v) => {
				if (typeof v === 'bigint') return v;
				if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
				if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
				throw bad(path, 'a 64-bit integer', v);
			});
		case 'double':
			return wrap((v) => {
				if (typeof v === 'number') return v;
				const n = typeof v === 'bigint' || (typeof v === 'string' && v.trim() !== '') ? Number(v) : NaN;
				if (Number.isNaN(n) && v !== 'NaN') throw bad(path, 'a number', v);
				return n;
			});
		case 'boolean':
			return wrap((v) => {
				if (typeof v === 'boolean') return v;
				if (v === 'true' || v === 1) return true;
				if (v === 'false' || v === 0) return false;
				throw bad(path, 'a boolean', v);
			});
		case 'timestamp':
			return wrap((v) => {
				const ms = epochMs(v);
				if (!Number.isFinite(ms)) throw bad(path, 'a timestamp', v);
				return ms * 1000;
			});
		case 'date':
			return wrap((v) => {
				const ms = typeof v === 'string' && v.length === 10 ? Date.parse(v + 'T00:00:00Z') : epochMs(v);
				if (!Number.isFinite(ms)) throw bad(path, 'a date', v);
				return Math.floor(ms / DAY_MS);
			});
		case 'object': {
			const children = (field.fields ?? []).map((f) => [f.name, converterFor(f, `${path}.${f.name}`)] as const);
			return wrap((v) => {
				if (typeof v !== 'object' || Array.isArray(v) || v instanceof Date) throw bad(path, 'an object', v);
				const record = v as Record<string, unknown>;
				for (let i = 0; i < children.length; i++) {
					const [name, convert] = children[i];
					const before = record[name];
					const after = convert(before);
					if (after !== before) record[name] = after;
				}
				return record;
			});
		}
		case 'array': {
			const item = converterFor(field.items ?? { type: 'json' }, `${path}[]`);
			return wrap((v) => {
				if (!Array.isArray(v)) throw bad(path, 'a list', v);
				for (let i = 0; i < v.length; i++) {
					const before = v[i];
					const after = item(before);
					if (after !== before) v[i] = after;
				}
				return v;
			});
		}
	}
}

/** hyparquet-writer's Writer, flushing each finished row group to the sink. */
class SinkWriter extends ByteWriter {
	pending: Promise<void> = Promise.resolve();
	flushed = 0;

	constructor(private readonly sink: Writable) {
		super(1 << 20);
	}

	flush(): Promise<void> {
		if (!this.index) return this.pending;
		const bytes = Buffer.from(new Uint8Array(this.buffer, 0, this.index)); // copy: the buffer is reused
		this.index = 0;
		this.flushed += bytes.length;
		this.pending = this.pending.then(() => writeTo(this.sink, bytes));
		return this.pending;
	}

	finish(): void {
		void this.flush();
	}
}

class ParquetFile implements EncodedFile {
	private readonly writer: SinkWriter;
	private readonly parquet: ParquetWriter;
	private readonly names: string[];
	private readonly converters: Convert[];
	private columns: unknown[][];
	private buffered = 0;
	private groups = 0;
	private bytesPerRow = 0;
	private readonly rowGroupRows: number;
	private readonly leafColumns: number;

	constructor(
		private readonly sink: Writable,
		schema: Schema,
		codec: Codec,
		private readonly options: ParquetOptions,
		/** Footer bytes per row group and leaf column, learned from finished files of this export. */
		private readonly learned: { footerPerChunk: number },
	) {
		this.writer = new SinkWriter(sink);
		this.parquet = new ParquetWriter({
			writer: this.writer,
			schema: parquetSchema(schema),
			codec: PARQUET_CODEC[codec],
			compressors: COMPRESSORS,
			createdBy: options.createdBy,
			statistics: true,
		});
		this.names = schema.fields.map((f) => f.name);
		this.converters = schema.fields.map((f) => converterFor(f, f.name));
		this.columns = this.names.map(() => []);
		this.rowGroupRows = Math.max(1, options.rowGroupRows ?? 10_000);
		this.leafColumns = parquetSchema(schema).filter((e) => !e.num_children && e.type).length;
	}

	/** What finish() will add: column/offset indexes and metadata grow with row groups × columns. */
	private footerEstimate(groups = this.groups + (this.buffered ? 1 : 0)): number {
		return 512 + Math.round(groups * this.leafColumns * this.learned.footerPerChunk);
	}

	get bytesOut() {
		return this.writer.flushed;
	}

	get bytesPending() {
		return this.writer.flushed + this.writer.index + Math.round(this.buffered * this.bytesPerRow) + this.footerEstimate();
	}

	private groupTarget(): number {
		// A small first row group teaches us the row size; later groups honour the byte target too.
		if (this.groups === 0) return Math.min(this.rowGroupRows, 1000);
		const max = this.options.maxFileBytes;
		if (max && this.bytesPerRow > 0) {
			const room = Math.max(1, Math.floor((max - this.bytesOut - this.footerEstimate(this.groups + 1)) / this.bytesPerRow));
			return Math.min(this.rowGroupRows, room);
		}
		return this.rowGroupRows;
	}

	async write(records: DatasetRecord[]): Promise<void> {
		const n = this.names.length;
		for (let r = 0; r < records.length; r++) {
			const record = records[r];
			if (record === null || typeof record !== 'object') throw new FormatError(`record ${r} is not an object`);
			for (let c = 0; c < n; c++) this.columns[c].push(this.converters[c](record[this.names[c]]));
			if (++this.buffered >= this.groupTarget()) await this.flushGroup();
		}
	}

	private async flushGroup(): Promise<void> {
		if (!this.buffered) return;
		const before = this.writer.offset;
		const rows = this.buffered;
		const columnData = this.names.map((name, c) => ({ name, data: this.columns[c] }));
		this.columns = this.names.map(() => []);
		this.buffered = 0;
		await this.parquet.write({ columnData: columnData as never, rowGroupSize: rows });
		await this.writer.flush();
		this.groups++;
		this.bytesPerRow = (this.writer.offset - before) / rows;
	}

	async finish(): Promise<void> {
		await this.flushGroup();
		const beforeFooter = this.writer.offset;
		await this.parquet.finish();
		if (this.groups) this.learned.footerPerChunk = Math.max(0, this.writer.offset - beforeFooter - 512) / (this.groups * this.leafColumns);
		await this.writer.pending;
		await endSink(this.sink);
	}
}

export function parquetEncoder(schema: Schema, codec: Codec, options: ParquetOptions = {}): Encoder {
	const problem = parquetCodecProblem(codec);
	if (problem) throw new FormatError(problem);
	parquetSchema(schema); // fail early on a schema Parquet cannot hold
	const learned = { footerPerChunk: 150 };
	return {
		fileType: 'parquet',
		codec,
		extension: '.parquet',
		contentType: 'application/vnd.apache.parquet',
		usesJsonText: false,
		open: (sink) => new ParquetFile(sink, schema, codec, options, learned),
	};
}
