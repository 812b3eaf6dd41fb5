// Small helpers around @kubernetes/client-node calls: the HTTP status of a failed call, and a
// per-call deadline (the generated clients have no timeout of their own, and a leader that
// cannot reach the API server must give up before its lease runs out).
import { ApiException, Observable, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';

/** The HTTP status of a failed API call (404, 409, …), or undefined for a network error. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A short description of a failed call, for logs. */
export function describeError(err: unknown): string {
  const status = httpStatusOf(err);
  const message = err instanceof ApiException ? reasonOf(err.body) : (err as Error | undefined)?.message;
  return status === undefined ? String(message ?? err) : `HTTP ${status}${message ? `: ${message}` : ''}`;
}

function reasonOf(body: unknown): string | undefined {
  if (typeof body === 'string') {
    try {
      return reasonOf(JSON.parse(body));
    } catch {
      return body.slice(0, 200);
    }
  }
  const message = (body as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : undefined;
}

/** Call options that abort the request after `ms`, or when `signal` aborts. */
export function callOptions(ms: number, signal?: AbortSignal): ConfigurationOptions {
  const deadline = AbortSignal.timeout(Math.max(1, Math.ceil(ms)));
  const abort = signal ? AbortSignal.any([deadline, signal]) : deadline;
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(abort);
      return new Observable(Promise.resolve(context));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}
