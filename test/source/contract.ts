/**
 * The source contract (issue 13): every Source must pass this suite against a real fixture — the
 * local lake here; lakes on object storage and PostgreSQL tables as they arrive. The storage
 * contract's idea (test/storage/contract.ts) applied to the reading side: listing, batches in order,
 * reading in bounded chunks, every value exactly as the fixture holds it, clear errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringifyJson } from '../../lib/json';
import { SourceError, type DatasetRecord, type Source } from '../../lib/source/types';

export interface SourceContractTarget {
	/** A source over the fixture. */
	source: Source;
	/**
	 * What the fixture holds: dataset id → its batches in the order the source must list them, each
	 * with its records in read order, as the source must return them (compared as exact JSON).
	 */
	expected: Map<string, DatasetRecord[][]>;
	/** A source whose location cannot be opened (a missing folder, an unknown database): SourceError `location`. Absent for sources with no location (records in memory). */
	broken?: Source;
	/** The same source with a credential the server refuses: SourceError `auth`. */
	badCredentials?: Source;
	/** The same source pointed at a port nothing answers on: SourceError `unreachable`, after bounded retries. */
	unreachable?: Source;
}

const exact = (records: readonly DatasetRecord[]) => records.map((r) => stringifyJson(r));

async function readAll(source: Source, datasetId: string, batchIndex: number, chunkSize: number, seen?: number[]): Promise<DatasetRecord[]> {
	const dataset = await source.getDataset(datasetId);
	const batch = (await source.listBatches(datasetId))[batchIndex];
	const out: DatasetRecord[] = [];
	for await (const chunk of source.readBatch(dataset, batch, { chunkSize })) {
		seen?.push(chunk.length);
		out.push(...chunk);
	}
	return out;
}

export function sourceContract(name: string, target: () => Promise<SourceContractTarget>): void {
	describe(`source contract: ${name}`, () => {
		it('lists every dataset, and getDataset says the same of each', async () => {
			const { source, expected } = await target();
			const listed = await source.listDatasets();
			assert.deepEqual(listed.map((d) => d.id).sort(), [...expected.keys()].sort());
			for (const info of listed) {
				const one = await source.getDataset(info.id);
				assert.deepEqual({ ...one, schema: undefined }, { ...info, schema: undefined }, `${info.id}: the same from listDatasets and getDataset`);
				assert.equal(one.batchCount, expected.get(info.id)!.length, `${info.id}: batch count`);
			}
		});

		it('an unknown dataset is not_found, naming it', async () => {
			const { source } = await target();
			const id = 'no_such_dataset_here';
			for (const call of [() => source.getDataset(id), () => source.listBatches(id)]) {
				await assert.rejects(call(), (error: unknown) => error instanceof SourceError && error.code === 'not_found' && error.message.includes(id));
			}
		});

		it('batches in ingestion order (then id), unique ids, record counts right where the source knows them', async () => {
			const { source, expected } = await target();
			for (const [id, batches] of expected) {
				const listed = await source.listBatches(id);
				assert.equal(listed.length, batches.length, `${id}: batches`);
				assert.equal(new Set(listed.map((b) => b.id)).size, listed.length, `${id}: unique batch ids`);
				for (let i = 1; i < listed.length; i++) {
					const [a, b] = [listed[i - 1], listed[i]];
					assert.ok(a.ingestedAt < b.ingestedAt || (a.ingestedAt === b.ingestedAt && a.id < b.id), `${id}: ${a.id} before ${b.id}`);
				}
				listed.forEach((b, i) => {
					assert.ok(!Number.isNaN(Date.parse(b.ingestedAt)), `${id}/${b.id}: ingestedAt is a time`);
					if (b.recordCount !== null) assert.equal(b.recordCount, batches[i].length, `${id}/${b.id}: record count`);
				});
			}
		});

		it('reads every batch exactly, in chunks no larger than asked', async () => {
			const { source, expected } = await target();
			for (const [id, batches] of expected) {
				for (let i = 0; i < batches.length; i++) {
					const sizes: number[] = [];
					const read = await readAll(source, id, i, 7, sizes);
					assert.deepEqual(exact(read), exact(batches[i]), `${id} batch ${i}: every record, every value`);
					assert.ok(
						sizes.every((n) => n > 0 && n <= 7),
						`${id} batch ${i}: chunks of 1–7 records, not ${sizes.join(', ')}`,
					);
				}
			}
		});

		it('reads again give the same records', async () => {
			const { source, expected } = await target();
			for (const id of expected.keys()) {
				if (!expected.get(id)!.length) continue;
				assert.deepEqual(exact(await readAll(source, id, 0, 1000)), exact(await readAll(source, id, 0, 3)), `${id}: chunk size changes nothing`);
			}
		});

		it('a read stops when its signal aborts', async () => {
			const { source, expected } = await target();
			const [id] = [...expected].find(([, batches]) => batches.some((b) => b.length > 3)) ?? [];
			assert.ok(id, 'the fixture has a batch of more than 3 records');
			const batches = expected.get(id)!;
			const index = batches.findIndex((b) => b.length > 3);
			const dataset = await source.getDataset(id);
			const batch = (await source.listBatches(id))[index];
			const controller = new AbortController();
			let read = 0;
			await assert.rejects(async () => {
				for await (const chunk of source.readBatch(dataset, batch, { chunkSize: 1, signal: controller.signal })) {
					read += chunk.length;
					controller.abort(new Error('stop reading'));
				}
			}, /stop reading|abort/i);
			assert.ok(read < batches[index].length, `stopped after ${read} of ${batches[index].length} records`);
		});

		it('a refused credential says so: auth', async (t) => {
			const { badCredentials } = await target();
			if (!badCredentials) return t.skip('this source has no credential');
			await assert.rejects(badCredentials.listDatasets(), (error: unknown) => error instanceof SourceError && error.code === 'auth');
		});

		it('a server that does not answer says so: unreachable', async (t) => {
			const { unreachable } = await target();
			if (!unreachable) return t.skip('this source has no server');
			await assert.rejects(unreachable.listDatasets(), (error: unknown) => error instanceof SourceError && error.code === 'unreachable');
			await assert.rejects(unreachable.getDataset('anything'), (error: unknown) => error instanceof SourceError && error.code === 'unreachable');
		});

		it('a source that cannot be opened says so: location', async (t) => {
			const { broken } = await target();
			if (!broken) return t.skip('this source has no location to get wrong');
			await assert.rejects(broken.listDatasets(), (error: unknown) => error instanceof SourceError && error.code === 'location');
			await assert.rejects(broken.getDataset('anything'), (error: unknown) => error instanceof SourceError && error.code === 'location');
		});
	});
}
