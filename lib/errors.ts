/**
 * Errors in lib/ are plain classes (SourceError, StoreError, ExportError, …) that the nodes turn
 * into n8n errors at their boundary (nodes/shared/context.ts). `attempt` captures a failure as a
 * value so code decides what to throw after the fact, outside any catch clause.
 */
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
