/**
 * Errors as RFC 9457 Problem Details (application/problem+json), with the 3GPP `cause` of TS 29.571 where one
 * applies. Headers (WWW-Authenticate, Retry-After) ride on the error. Anything that is not an HttpError becomes
 * a 500 whose detail never echoes the internal message.
 */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemDetails {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  cause?: string;
  invalidParams?: Array<{ param: string; reason: string }>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly problemCause?: string,
    readonly headers: Readonly<Record<string, string>> = {},
    readonly invalidParams?: Array<{ param: string; reason: string }>,
  ) {
    super(`${status} ${title}: ${detail}`);
  }

  toProblem(instance?: string): ProblemDetails {
    const p: ProblemDetails = { title: this.title, status: this.status, detail: this.detail };
    if (instance) p.instance = instance;
    if (this.problemCause) p.cause = this.problemCause;
    if (this.invalidParams?.length) p.invalidParams = this.invalidParams;
    return p;
  }
}

/** The one catalog of errors the NFs send; the 3GPP cause strings follow TS 29.571 Table 5.2.7.2-1. */
export const problems = {
  badRequest: (detail: string, invalidParams?: Array<{ param: string; reason: string }>) =>
    new HttpError(400, 'Bad Request', detail, 'MANDATORY_IE_INCORRECT', {}, invalidParams),
  unauthorized: (detail: string, challenge = 'Bearer') =>
    new HttpError(401, 'Unauthorized', detail, undefined, { 'WWW-Authenticate': challenge }),
  forbidden: (detail: string, cause = 'AUTHORIZATION_REJECTED') => new HttpError(403, 'Forbidden', detail, cause),
  /** 403 for a failed authentication that a fresh challenge would not fix (e.g. an AKA MAC failure). */
  authenticationRejected: (detail: string) => new HttpError(403, 'Forbidden', detail, 'AUTHENTICATION_REJECTED'),
  notFound: (detail: string, cause = 'RESOURCE_NOT_FOUND') => new HttpError(404, 'Not Found', detail, cause),
  methodNotAllowed: (allow: string) =>
    new HttpError(405, 'Method Not Allowed', `allowed: ${allow}`, undefined, { Allow: allow }),
  notAcceptable: (detail: string) => new HttpError(406, 'Not Acceptable', detail),
  payloadTooLarge: (limit: number) => new HttpError(413, 'Payload Too Large', `body larger than ${limit} octets`),
  unsupportedMediaType: (detail: string) => new HttpError(415, 'Unsupported Media Type', detail),
  /** RFC 6585 §4, with Retry-After; cause as TS 29.500 Table 5.2.7.2-1 names it. */
  tooManyRequests: (detail: string, retryAfterSec: number) =>
    new HttpError(429, 'Too Many Requests', detail, 'TOO_MANY_REQUESTS', {
      'Retry-After': String(Math.max(1, Math.ceil(retryAfterSec))),
    }),
  unavailable: (detail: string, retryAfterSec = 5) =>
    new HttpError(503, 'Service Unavailable', detail, 'SERVICE_UNAVAILABLE', { 'Retry-After': String(retryAfterSec) }),
  upstream: (detail: string) => new HttpError(502, 'Bad Gateway', detail, 'UPSTREAM_FAILURE'),
};

/** An HttpError as a complete response (for handlers that return rather than throw, e.g. to count outcomes). */
export function problemResponse(
  e: HttpError,
  headers: Readonly<Record<string, string>> = {},
): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: e.status,
    headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...e.headers, ...headers },
    body: JSON.stringify(e.toProblem()),
  };
}
