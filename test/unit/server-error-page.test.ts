import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorResponse, optionsResponse, unavailableFor } from '../../src/server/error-page.ts';

test('503 with Retry-After in seconds, after the error page headers', () => {
  const response = unavailableFor(7);
  assert.equal(response.status, 503);
  assert.deepEqual(response.headers, [...errorResponse(503).headers, ['Retry-After', '7']]);
  assert.deepEqual(response.body, errorResponse(503).body);
});

test('OPTIONS * answers 200 with the methods a member may be asked, and no body', () => {
  assert.deepEqual(optionsResponse(), { status: 200, headers: [['Allow', 'GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH']], body: Buffer.alloc(0) });
});
