/**
 * The source contract on records handed over in memory (lib/source/input-items), and what is its
 * own: a batch named by its content, so the same records exported twice are one batch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runExport } from '../../lib/export/run';
import { parseJson } from '../../lib/json';
import { InputItemsSource } from '../../lib/source/input-items';
import type { DatasetRecord } from '../../lib/source/types';
import { LocalFolderStore } from '../../lib/storage/local';
import { tempDir } from '../helpers/fixtures';
import { sourceContract } from './contract';

const records = (): DatasetRecord[] => [
	parseJson('{"id":9007199254740993,"neg":-0,"amount":0.1,"text":"ünï 😀 \\u2028","nested":{"list":[1,"x",null]}}') as DatasetRecord,
	...Array.from({ length: 20 }, (_, i) => ({ id: i, text: `row ${i}`, nested: { list: [i] } })),
];

sourceContract('input items', async () => {
	// the expected records are another copy, so a source that changed the records it holds would fail
	return {
		source: new InputItemsSource('orders', records(), { receivedAt: new Date('2026-11-28T00:00:00Z') }),
		expected: new Map([['orders', [records()]]]),
	};
});

describe('input items', () => {
	it('the same records are the same batch: exported twice, committed once; other records are a new batch', async () => {
		const out = tempDir('input-items');
		const store = new LocalFolderStore(out);
		const request = { datasetId: 'orders', mode: 'incremental' as const, fileType: 'json' as const, codec: 'gzip' as const, folderPath: 'x' };
		const first = await runExport(new InputItemsSource('orders', records()), store, request);
		assert.equal(first.status, 'committed');
		assert.equal(first.totals.records, 21);
		const again = await runExport(new InputItemsSource('orders', records(), { receivedAt: new Date(Date.now() + 60_000) }), store, request);
		assert.equal(again.status, 'nothing-new', 'a retried execution with the same items exports nothing twice');
		assert.deepEqual(again.warnings, [], 'handed over again later is no change to the batch');
		const changed = records();
		changed[5] = { ...changed[5], text: 'changed' };
		const other = await runExport(new InputItemsSource('orders', changed), store, request);
		assert.equal(other.status, 'committed');
		assert.notDeepEqual(other.window.batchIds, first.window.batchIds);
	});

	it('values with toJSON (a date-time object as Code nodes make, a Date) are their JSON: schema and records', async () => {
		// like Luxon's DateTime: internals as fields, the value as toJSON() says
		class DateTimeLike {
			readonly ts = 1795860000000;
			readonly zone = { name: 'UTC', internals: [1, 2, 3] };
			toJSON() {
				return '2026-11-28T10:00:00.000+00:00';
			}
		}
		const source = new InputItemsSource('events', [{ at: new DateTimeLike(), day: new Date('2026-01-01T00:00:00Z'), nested: { when: [new DateTimeLike()] } } as unknown as DatasetRecord]);
		const info = await source.getDataset('events');
		assert.deepEqual(
			info.schema!.fields.map((f) => [f.name, f.type]),
			[
				['at', 'timestamp'],
				['day', 'timestamp'],
				['nested', 'object'],
			],
		);
		const [batch] = await source.listBatches('events');
		const read: DatasetRecord[] = [];
		for await (const chunk of source.readBatch(info, batch)) read.push(...chunk);
		assert.deepEqual(JSON.parse(JSON.stringify(read)), [{ at: '2026-11-28T10:00:00.000+00:00', day: '2026-01-01T00:00:00.000Z', nested: { when: ['2026-11-28T10:00:00.000+00:00'] } }]);
	});

	it('empty items are said: one empty item (Always Output Data) exports nothing; empty items among others are counted', async () => {
		const store = new LocalFolderStore(tempDir('input-items-empty'));
		const request = { datasetId: 'orders', mode: 'incremental' as const, fileType: 'json' as const, codec: 'gzip' as const, folderPath: 'x' };
		const alone = await runExport(new InputItemsSource('orders', [{}]), store, request);
		assert.equal(alone.totals.records, 0);
		assert.match(alone.warnings.join(' '), /the 1 input item\(s\) have no fields .*Always Output Data.*nothing to export/);
		const mixed = await runExport(new InputItemsSource('orders', [{ a: 1 }, {}, { a: 2 }]), store, request);
		assert.equal(mixed.totals.records, 3);
		assert.match(mixed.warnings.join(' '), /1 of 3 input items have no fields/);
	});

	it('a bad dataset id or a record that is not an object is a clear error', () => {
		assert.throws(() => new InputItemsSource('../x', []), /not a valid dataset id/);
		assert.throws(() => new InputItemsSource('orders', [{ a: 1 }, [1, 2] as unknown as DatasetRecord]), /record 2 is not an object/);
	});
});
