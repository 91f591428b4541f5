/**
 * Errors in lib/ are plain classes (SourceError, StoreError, FormatError, RequestError) that the
 * nodes turn into n8n errors at their boundary (nodes/shared/errors.ts). `attempt` captures a
 * failure as a value so code decides what to throw after the fact, outside any catch clause.
 */

/**
 * A request (ExportRequest, VerifyRequest) the library cannot carry out as given. `field` names
 * the request's own field at fault, in the library's terms (`maxBytesPerFile`, `codec`, `source`);
 * the nodes map it to the parameter the user typed (nodes/shared/errors.ts).
 */
export class RequestError extends Error {
	constructor(
		message: string,
		readonly field?: string,
	) {
		super(message);
		this.name = 'RequestError';
	}
}
export type Attempt<T> = { ok: true; value: T } | { ok: false; error: Error };

function asError(error: unknown): Error {
	return error instanceof Error ? error : new Error(String(error));
}

export function attempt<T>(fn: () => T): Attempt<T> {
	try {
		return { ok: true, value: fn() };
	} catch (error) {
		return { ok: false, error: asError(error) };
	}
}

export async function attemptAsync<T>(fn: () => Promise<T>): Promise<Attempt<T>> {
	try {
		return { ok: true, value: await fn() };
	} catch (error) {
		return { ok: false, error: asError(error) };
	}
}

/** The errno code of a Node.js system error, if it is one. */
export function errnoCode(error: unknown): string | undefined {
	return (error as NodeJS.ErrnoException | undefined)?.code;
}
