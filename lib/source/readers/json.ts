/**
 * JSON text formats: NDJSON (one record per line) and JSON files holding one array of records,
 * read as a stream and never whole. Both are strict UTF-8 (a byte order mark at the start is
 * read; invalid bytes are an error naming the line), and every chunk says where its records come
 * from (ORIGIN: the file as given, and each record's 1-based line).
 */
import { attempt } from '../../errors';
import { parseJson } from '../../json';
import { ORIGIN } from '../../mismatch';
import { RAW_JSON, type DatasetRecord, type RecordChunk } from '../types';
import { InvalidUtf8, Utf8Text, invalidUtf8, jsonProblem, malformed, nameOf, openText, unreadable, type LakeInput } from './common';

/** Yields the complete text lines of each decoded chunk, with the 1-based number of the first. */
async function* lines(input: LakeInput, signal?: AbortSignal): AsyncGenerator<[string[], number]> {
	const decoder = new Utf8Text();
	let rest = '';
	let lineNo = 1;
	try {
		for await (const chunk of await openText(input)) {
			signal?.throwIfAborted();
			// the bytes of this chunk start on line lineNo (`rest` holds no line feed)
			const text = rest + decoder.write(chunk as Buffer);
			const cut = text.lastIndexOf('\n');
			if (cut < 0) {
				rest = text;
				continue;
			}
			const complete = text.slice(0, cut).split('\n');
			rest = text.slice(cut + 1);
			yield [complete, lineNo];
			lineNo += complete.length;
		}
		rest += decoder.end();
	} catch (error) {
		if (error instanceof InvalidUtf8) throw invalidUtf8(input, lineNo + error.newlines, error);
		throw unreadable(input, error);
	}
	if (rest.length) yield [[rest], lineNo];
}

function asRecord(value: unknown, path: string, line: number): DatasetRecord {
	if (value === null || typeof value !== 'object' || Array.isArray(value)) {
		throw malformed(path, line, `expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
	}
	return value as DatasetRecord;
}

/**
 * NDJSON; each chunk carries its lines' text (RAW_JSON) so JSON encoders need not re-serialise.
 * With `jsonText` the lines are only validated (plain JSON.parse), since the text is what is used.
 */
export async function* readNdjson(input: LakeInput, chunkSize: number, signal?: AbortSignal, jsonText = false): AsyncGenerator<RecordChunk> {
	const path = nameOf(input);
	const parse = jsonText ? JSON.parse : parseJson;
	let chunk: RecordChunk = [];
	let texts: string[] = [];
	let lineNos: number[] = [];
	const finish = () => {
		chunk[RAW_JSON] = texts;
		chunk[ORIGIN] = { file: path, lines: lineNos };
		return chunk;
	};
	for await (const [block, firstLine] of lines(input, signal)) {
		for (let i = 0; i < block.length; i++) {
			let line = block[i];
			if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
			if (!line.trim()) continue;
			const value = attempt(() => parse(line));
			if (!value.ok) throw malformed(path, firstLine + i, jsonProblem(value.error, line));
			chunk.push(asRecord(value.value, path, firstLine + i));
			texts.push(line);
			lineNos.push(firstLine + i);
			if (chunk.length >= chunkSize) {
				yield finish();
				chunk = [];
				texts = [];
				lineNos = [];
			}
		}
	}
	if (chunk.length) yield finish();
}

/**
 * A JSON document that is an array of objects, read element by element: a small scanner finds
 * each top-level element's text (tracking strings and nesting) and parses only that.
 */
export async function* readJsonArray(input: LakeInput, chunkSize: number, signal?: AbortSignal): AsyncGenerator<RecordChunk> {
	const path = nameOf(input);
	const decoder = new Utf8Text();
	let state: 'start' | 'between' | 'element' | 'end' = 'start';
	let depth = 0;
	let inString = false;
	let escaped = false;
	let element = '';
	let line = 1;
	let elementLine = 1;
	let chunk: RecordChunk = [];
	let lineNos: number[] = [];
	const finishElement = () => {
		const value = attempt(() => parseJson(element));
		if (!value.ok) throw malformed(path, elementLine, jsonProblem(value.error, element));
		chunk.push(asRecord(value.value, path, elementLine));
		lineNos.push(elementLine);
		element = '';
	};
	const finish = () => {
		chunk[ORIGIN] = { file: path, lines: lineNos };
		return chunk;
	};
	const consume = (text: string) => {
		let elementStart = 0;
		for (let i = 0; i < text.length; i++) {
			const c = text.charCodeAt(i);
			if (c === 10) line++;
			if (state === 'element') {
				if (inString) {
					if (escaped) escaped = false;
					else if (c === 92 /* \ */) escaped = true;
					else if (c === 34 /* " */) inString = false;
				} else if (c === 34) {
					inString = true;
				} else if (c === 123 /* { */ || c === 91 /* [ */) {
					depth++;
				} else if (c === 125 /* } */ || c === 93 /* ] */) {
					if (depth === 0) {
						// the array closes right after a scalar element
						element += text.slice(elementStart, i);
						finishElement();
						state = 'end';
					} else if (--depth === 0) {
						element += text.slice(elementStart, i + 1);
						finishElement();
						state = 'between';
					}
				} else if (c === 44 /* , */ && depth === 0) {
					element += text.slice(elementStart, i);
					finishElement();
					state = 'between';
				}
				continue;
			}
			if (c === 32 || c === 10 || c === 13 || c === 9) continue;
			if (state === 'start') {
				if (c !== 91) throw malformed(path, line, 'a JSON file must hold one array of records, or one record per line');
				state = 'between';
			} else if (state === 'between') {
				if (c === 44) continue;
				if (c === 93) {
					state = 'end';
					continue;
				}
				state = 'element';
				elementStart = i;
				elementLine = line;
				depth = 0;
				inString = false;
				escaped = false;
				i--; // scan this character again as part of the element
			} else {
				throw malformed(path, line, 'unexpected content after the closing ]');
			}
		}
		if (state === 'element') element += text.slice(elementStart);
	};
	try {
		for await (const buf of await openText(input)) {
			signal?.throwIfAborted();
			consume(decoder.write(buf as Buffer));
			if (chunk.length >= chunkSize) {
				yield finish();
				chunk = [];
				lineNos = [];
			}
		}
		consume(decoder.end());
	} catch (error) {
		// `line` is where this chunk's bytes start: consume never saw them
		if (error instanceof InvalidUtf8) throw invalidUtf8(path, line + error.newlines, error);
		throw unreadable(path, error);
	}
	if ((state as string) !== 'end') throw malformed(path, line, (state as string) === 'start' ? 'the file is empty' : 'the array is not closed');
	if (chunk.length) yield finish();
}

/** `.json` files hold either one array of records or one record per line: the first byte decides. */
export async function* readJsonOrNdjson(input: LakeInput, chunkSize: number, signal?: AbortSignal, jsonText = false): AsyncGenerator<RecordChunk> {
	const path = nameOf(input);
	let first = '';
	try {
		for await (const buf of await openText(input)) {
			first = (buf as Buffer).toString('utf8').replace(/^[\s\ufeff]+/, '');
			if (first) break;
		}
	} catch (error) {
		throw unreadable(path, error);
	}
	if (first.startsWith('[')) yield* readJsonArray(input, chunkSize, signal);
	else yield* readNdjson(input, chunkSize, signal, jsonText);
}
