// The balancer manager's JSON API as tests drive it on a loopback manager without login.
import { request, type HttpsResponse } from './client.ts';

/**
 * POSTs `body` (JSON text, so a test can send keys such as `__proto__` as they are) to the edits API on `port`,
 * with a console session's CSRF token: the page may come from one worker and the POST land on another, which
 * checks it with the same shared secret.
 */
export async function postManagerEdit(port: number, body: string): Promise<HttpsResponse> {
  const page = await request(`https://127.0.0.1:${port}/balancer-manager/console`);
  const token = /name="csrf-token" content="([^"]+)"/.exec(page.body)?.[1];
  const cookie = String(page.headers['set-cookie']).split(';')[0]!;
  return request(`https://127.0.0.1:${port}/balancer-manager/api/v1/edits`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': token!, cookie, origin: `https://127.0.0.1:${port}` },
    body,
  });
}
