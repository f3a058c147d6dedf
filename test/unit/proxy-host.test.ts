import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultPort, splitHostPort } from '../../src/proxy/host.ts';

test('splitHostPort: lower-cased host, the port as written, IPv6 kept in brackets, nothing judged', () => {
  assert.deepEqual(splitHostPort(' Example.COM:8443 '), { host: 'example.com', port: '8443' });
  assert.deepEqual(splitHostPort('example.com'), { host: 'example.com' });
  assert.deepEqual(splitHostPort('example.com:'), { host: 'example.com' });
  assert.deepEqual(splitHostPort('[::1]:443'), { host: '[::1]', port: '443' });
  assert.deepEqual(splitHostPort('[::1]'), { host: '[::1]' });
  assert.deepEqual(splitHostPort('[::1]:'), { host: '[::1]' });
  assert.deepEqual(splitHostPort('[::1]x'), { host: '[::1]' });
  assert.deepEqual(splitHostPort('[::1'), { host: '[::1' });
  assert.deepEqual(splitHostPort('::1'), { host: '::1' });
  assert.deepEqual(splitHostPort('a:b:c'), { host: 'a:b:c' });
  assert.deepEqual(splitHostPort(':80'), { host: '', port: '80' });
  assert.deepEqual(splitHostPort(''), { host: '' });
});

test('defaultPort: 80 and 443 for http and https in any case, nothing for other schemes', () => {
  assert.deepEqual(['http', 'HTTPS', 'ws', ''].map(defaultPort), ['80', '443', undefined, undefined]);
});
