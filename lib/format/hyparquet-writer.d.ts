/**
 * hyparquet-writer exports its modules as `hyparquet-writer/src/*.js` with types in `types/`,
 * which this project's module resolution (node10, for n8n's CommonJS build) does not map.
 */
declare module 'hyparquet-writer/src/column.js' {
	import type { ColumnChunk, OffsetIndex } from 'hyparquet';
	import type { ColumnEncoder, PageColumnIndex, PageData, Writer } from 'hyparquet-writer/src/types.js';
	export type { ColumnEncoder };
	export function writeColumn(options: { writer: Writer; column: ColumnEncoder; pageData: PageData }): {
		chunk: ColumnChunk;
		columnIndex?: PageColumnIndex;
		offsetIndex?: OffsetIndex;
		bloomFilter?: Uint32Array;
	};
}
