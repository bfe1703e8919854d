/** Where chat completions go: a server this run started, or the endpoint configured in `eval.endpoint`. */
export interface ChatEndpoint {
  /** Full URL of the chat completions route. */
  url: string;
  /** Sent as `model` when set; omitted for mlx_lm.server, whose CLI adapter applies only to "default_model". */
  model?: string;
}

/** Accepts a base URL (http://host:port), a /v1 URL, or the full /chat/completions URL. */
export function chatCompletionsUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  if (trimmed.endsWith('/chat/completions')) return trimmed;
  if (trimmed.endsWith('/v1')) return `${trimmed}/chat/completions`;
  return `${trimmed}/v1/chat/completions`;
}

export class RequestError extends Error {
  override readonly name = 'RequestError';
}

/** POSTs one request and returns the parsed JSON body; HTTP errors and timeouts become RequestError. */
export async function postChat(endpoint: ChatEndpoint, body: Record<string, unknown>, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(endpoint.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(endpoint.model ? { ...body, model: endpoint.model } : body),
      signal: combined,
    });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.aborted) throw new RequestError(`no reply from ${endpoint.url} within ${timeoutMs} ms (eval.requestTimeoutMs)`);
    throw new RequestError(`request to ${endpoint.url} failed: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) throw new RequestError(`${endpoint.url} answered ${response.status}: ${text.slice(0, 500)}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RequestError(`${endpoint.url} answered with something that is not JSON: ${text.slice(0, 200)}`);
  }
}
