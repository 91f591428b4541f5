/**
 * The On Schema Mismatch decision, applied in one place. Readers attach the mismatches they find
 * to a chunk; encoders throw ValueMismatch at the record they cannot write. Either way the engine
 * asks here what to do: fail (naming dataset, batch, file, line, field, value and expected type),
 * skip the record (counted, the first examples kept for the report and the manifest), or evolve
 * the schema (the file being written is closed and the next one written with the wider schema).
 */
import { describeMismatch, excerpt, MISMATCHES, ORIGIN, type Mismatch, type MismatchKind } from '../mismatch';
import { evolveSchema, type Schema } from '../schema';
import { describeDiff, diffSchemas } from '../schema-diff';
import { lineOf, pickRecords, type RecordChunk } from '../source/types';

const schemaChanges = (a: Schema, b: Schema) => describeDiff(diffSchemas(a, b));

export type SchemaMismatchPolicy = 'fail' | 'evolve' | 'skip';

/** Where a mismatch was found, in the user's terms. */
export interface MismatchAt {
	batch: string;
	/** Source file (relative to the lake), when the reader said. */
	file: string | null;
	/** 1-based line (text) or row (Parquet) in that file, when the reader said. */
	line: number | null;
	kind: MismatchKind;
	field: string;
	expected: string;
	/** A bounded excerpt of the value. */
	value: string;
	detail?: string;
}

export interface SkippedRecords {
	records: number;
	/** The first few, where and why. */
	examples: MismatchAt[];
}

/** A schema change made by Evolve: the file written first with the new schema, and what changed. */
export interface SchemaEvolution {
	/** Index of the first output file written with the new schema. */
	fromFile: number;
	changes: string[];
}

export const MAX_EXAMPLES = 10;

/** A record that does not fit the schema while On Schema Mismatch is Fail (or Evolve cannot widen it). */
export class SchemaMismatchError extends Error {
	constructor(
		readonly datasetId: string,
		readonly at: MismatchAt,
		message: string,
	) {
		super(message);
		this.name = 'SchemaMismatchError';
	}
}

function where(datasetId: string, at: MismatchAt): string {
	const file = at.file ? `, file "${at.file}"${at.line !== null ? ` line ${at.line}` : ''}` : '';
	return `dataset "${datasetId}", batch "${at.batch}"${file}`;
}

export interface Position {
	/** Index into the plan's batches. */
	batch: number;
	/** Records of that batch (as read from the source) before this position. */
	record: number;
}

const before = (a: Position, b: Position) => a.batch < b.batch || (a.batch === b.batch && a.record < b.record);

/**
 * The decisions of one run. Positions are the source's (batch, record), so a file written again
 * after a failure meets the same records again without counting them twice.
 */
export class MismatchHandler {
	private skippedAt: { position: Position; at: MismatchAt }[] = [];
	readonly evolutions: SchemaEvolution[] = [];

	constructor(
		readonly policy: SchemaMismatchPolicy,
		readonly datasetId: string,
		/** The schema files are written with now (Evolve widens it). */
		public schema: Schema | undefined,
	) {}

	/** Forget decisions at or after `from` (the run writes from there again, with the schema it had there). */
	rewind(from: Position, at: { schema: Schema | undefined; evolutions: number }): void {
		this.skippedAt = this.skippedAt.filter((s) => before(s.position, from));
		this.schema = at.schema;
		this.evolutions.length = at.evolutions;
	}

	/** Records skipped from each batch (by index into the plan's batches). */
	skippedPerBatch(): number[] {
		const counts: number[] = [];
		for (const s of this.skippedAt) counts[s.position.batch] = (counts[s.position.batch] ?? 0) + 1;
		return counts;
	}

	get skipped(): SkippedRecords {
		return { records: this.skippedAt.length, examples: this.skippedAt.slice(0, MAX_EXAMPLES).map((s) => s.at) };
	}

	locate(chunk: RecordChunk, index: number, batch: string, m: Mismatch): MismatchAt {
		return {
			batch,
			file: chunk[ORIGIN]?.file ?? null,
			line: lineOf(chunk, index),
			kind: m.kind,
			field: m.path,
			expected: m.kind === 'unknown_field' ? 'no such field in the schema' : m.expected,
			value: excerpt(m.value),
			...(m.detail ? { detail: m.detail } : {}),
		};
	}

	fail(at: MismatchAt, m: Mismatch, why: string): never {
		throw new SchemaMismatchError(this.datasetId, at, `A record does not fit the schema (${where(this.datasetId, at)}): ${describeMismatch(m)}. ${why}`);
	}

	/**
	 * Decide a mismatch of record `index` at source position `position`. Returns `skip` (leave the
	 * record out), `write` (the schema already holds it), or `evolved` (the schema was widened:
	 * start a new file before writing the record).
	 */
	decide(chunk: RecordChunk, index: number, batch: string, position: Position, m: Mismatch): 'skip' | 'write' | 'evolved' {
		const at = this.locate(chunk, index, batch, m);
		if (this.policy === 'skip') {
			this.skippedAt.push({ position, at });
			return 'skip';
		}
		if (this.policy === 'fail') {
			this.fail(at, m, 'Nothing was committed. To export such records, set On Schema Mismatch to Evolve (widen the schema) or Skip Record (leave them out, counted).');
		}
		if (!this.schema) this.fail(at, m, 'The dataset has no schema to evolve.');
		const wider = evolveSchema(this.schema, m, chunk[index]);
		if (!wider)
			this.fail(
				at,
				m,
				'No wider schema can hold this value exactly (Evolve adds fields and widens types, it does not change values); set On Schema Mismatch to Skip Record to leave such records out, counted.',
			);
		const changes = schemaChanges(this.schema, wider);
		if (!changes.length) return 'write';
		this.schema = wider;
		return 'evolved';
	}

	/** Record that files from index `fromFile` on are written with the current schema, changed by `changes`. */
	evolvedAt(fromFile: number, previous: Schema | undefined): void {
		if (!previous || !this.schema) return;
		const changes = schemaChanges(previous, this.schema);
		const last = this.evolutions[this.evolutions.length - 1];
		if (last?.fromFile === fromFile) last.changes.push(...changes);
		else this.evolutions.push({ fromFile, changes });
	}

	/**
	 * Settle the mismatches a reader attached to a chunk. Returns the records to write (skipped ones
	 * left out), the source index of each (`kept`, null when none was left out), and whether the
	 * schema was widened (the caller starts a new file first).
	 * `positionOf(i)` is record i's source position.
	 */
	settleReader(chunk: RecordChunk, batch: string, positionOf: (index: number) => Position): { chunk: RecordChunk; kept: number[] | null; evolved: boolean } {
		const found = chunk[MISMATCHES];
		if (!found?.length) return { chunk, kept: null, evolved: false };
		const drop: number[] = [];
		let evolved = false;
		for (const m of found) {
			if (drop[drop.length - 1] === m.index) continue;
			const decision = this.decide(chunk, m.index, batch, positionOf(m.index), m);
			if (decision === 'skip') drop.push(m.index);
			if (decision === 'evolved') evolved = true;
		}
		if (!drop.length) {
			// settled: the chunk (this run's alone) goes on as it is
			delete chunk[MISMATCHES];
			return { chunk, kept: null, evolved };
		}
		const gone = new Set(drop);
		const kept: number[] = [];
		for (let i = 0; i < chunk.length; i++) if (!gone.has(i)) kept.push(i);
		const rest = pickRecords(chunk, kept);
		delete rest[MISMATCHES];
		return { chunk: rest, kept, evolved };
	}
}
