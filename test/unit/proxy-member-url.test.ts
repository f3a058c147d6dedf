import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memberName, parseMemberUrl } from '../../src/proxy/member-url.ts';

test('parseMemberUrl accepts scheme://host[:port][/path] and refuses the rest', () => {
  assert.deepEqual(parseMemberUrl('HTTPS://Node1:9443/App'), { scheme: 'https', host: 'node1', port: '9443', path: '/App' });
  assert.deepEqual(parseMemberUrl('http://[::1]'), { scheme: 'http', host: '[::1]', path: '' });
  for (const bad of ['', 'node1:8080', 'http://', 'http://:80/', 'http://h:80x', 'http://h:123456', 'unix:/s|http://h', '/x']) {
    assert.equal(parseMemberUrl(bad), undefined, bad);
  }
});

test('memberName is Apache\'s normalised worker name', () => {
  assert.equal(memberName('HTTP://Node1:80/App/'), 'http://node1/App/');
  assert.equal(memberName('https://node1:443'), 'https://node1');
  assert.equal(memberName('https://node1:80'), 'https://node1:80');
  assert.equal(memberName('http://[::1]:8080/x'), 'http://[::1]:8080/x');
});

test('member URL answers are remembered per URL, and an invalid URL throws every time', async () => {
  const { memberHostHeader, memberPath } = await import('../../src/proxy/member-url.ts');
  for (let i = 0; i < 2; i++) {
    assert.equal(memberName('HTTPS://Node1:443/App'), 'https://node1/App');
    assert.equal(memberHostHeader('HTTPS://Node1:8443/App'), 'node1:8443');
    assert.equal(memberPath('https://node1/App?x#y'), '/App');
    assert.throws(() => memberHostHeader('not a url'), /invalid member URL "not a url"/);
  }
});
