// The Apache reader's key=value parameters, called directly: every range is pinned by the values just inside
// and just outside each bound, so a widened or narrowed range fails here rather than in production.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasDormantHealthCheck, newBalancer, newMember, setBalancerParam, setWorkerParam, splitParam, type ParamOutcome } from '../../src/config/apache/params.ts';
import { parseDuration, parseInteger, parseOnOff } from '../../src/config/apache/values.ts';
import type { BalancerConfig, MemberConfig } from '../../src/config/model.ts';

const source = { file: 't.conf', line: 1 };

/** The member after `key=value`, or the error it gave. */
function member(word: string, context?: Parameters<typeof setWorkerParam>[2]): { m: MemberConfig; outcome: ParamOutcome } {
  const m = newMember('http://10.0.0.1:8080', source);
  const outcome = setWorkerParam(m, splitParam(word)!, context);
  return { m, outcome };
}

function balancer(word: string): { b: BalancerConfig; outcome: ParamOutcome } {
  const b = newBalancer('b', source);
  const outcome = setBalancerParam(b, splitParam(word)!);
  return { b, outcome };
}

function workerError(word: string): string | undefined {
  const { outcome } = member(word);
  return outcome !== undefined && 'error' in outcome ? outcome.error : undefined;
}

function balancerError(word: string): string | undefined {
  const { outcome } = balancer(word);
  return outcome !== undefined && 'error' in outcome ? outcome.error : undefined;
}

test('splitParam: the key is lower-cased and split at the first =; no key or no = is not a parameter', () => {
  assert.deepEqual(splitParam('LoadFactor=2=3'), { key: 'loadfactor', value: '2=3' });
  assert.deepEqual(splitParam('route='), { key: 'route', value: '' });
  assert.equal(splitParam('=x'), undefined);
  assert.equal(splitParam('route'), undefined);
});

test('loadfactor: 1 to 100, decimals allowed; 0.99 and 100.01 are out of range', () => {
  assert.equal(member('loadfactor=1').m.loadfactor, 1);
  assert.equal(member('loadfactor=100').m.loadfactor, 100);
  assert.equal(member('loadfactor=1.5').m.loadfactor, 1.5);
  assert.equal(member('loadfactor=1').outcome, undefined);
  assert.equal(member('loadfactor=100').outcome, undefined);
  for (const v of ['0.99', '100.01', '0', '101']) {
    assert.equal(workerError(`loadfactor=${v}`), `loadfactor "${v}" is out of range; expected a number from 1 to 100`);
  }
  for (const v of ['x', '1.', '.5', '-1', '1e2', ' 1', '1 ', '']) {
    assert.equal(workerError(`loadfactor=${v}`), `loadfactor "${v}" is not a number; expected a number from 1 to 100`);
  }
});

test('lbset: a whole number from 0 to 99', () => {
  assert.equal(member('lbset=0').m.lbset, 0);
  assert.equal(member('lbset=99').m.lbset, 99);
  assert.equal(member('lbset=99').outcome, undefined);
  assert.equal(workerError('lbset=100'), 'lbset "100" is out of range; expected a whole number from 0 to 99');
  for (const v of ['-1', '1.5', 'x', '']) {
    assert.equal(workerError(`lbset=${v}`), `lbset "${v}" is not a whole number; expected a whole number from 0 to 99`);
  }
});

test('route and redirect: at most 63 characters (httpd keeps 64-byte fields)', () => {
  const at = 'r'.repeat(63);
  assert.equal(member(`route=${at}`).m.route, at);
  assert.equal(member(`redirect=${at}`).m.redirect, at);
  assert.equal(member(`route=${at}`).outcome, undefined);
  assert.equal(workerError(`route=${at}x`), `route "${at}x" is too long (64 characters); expected at most 63`);
  assert.equal(workerError(`redirect=${at}x`), `redirect "${at}x" is too long (64 characters); expected at most 63`);
});

test('retry: 0 or more, seconds by default', () => {
  assert.equal(member('retry=0').m.retry, 0);
  assert.equal(member('retry=5').m.retry, 5000);
  assert.equal(member('retry=250ms').m.retry, 250);
  assert.equal(member('retry=0').outcome, undefined);
  assert.equal(workerError('retry=-1'), 'retry "-1" is not a time; expected whole seconds (or a number with ms, s, mi or h)');
  assert.equal(workerError('retry=1.5'), 'retry "1.5" is not a time; expected whole seconds (or a number with ms, s, mi or h)');
});

test('timeout: at least one second, on a member and on a balancer alike', () => {
  assert.equal(member('timeout=1').m.timeout, 1000);
  assert.equal(member('timeout=1000ms').m.timeout, 1000);
  assert.equal(member('timeout=1').outcome, undefined);
  assert.equal(balancer('timeout=1000ms').b.timeout, 1000);
  assert.equal(balancer('timeout=1000ms').outcome, undefined);
  const tooShort = (v: string) => `timeout "${v}" is not a valid time; expected at least one second`;
  assert.equal(workerError('timeout=999ms'), tooShort('999ms'));
  assert.equal(workerError('timeout=0'), tooShort('0'));
  assert.equal(balancerError('timeout=999ms'), tooShort('999ms'));
  assert.equal(balancerError('timeout=x'), tooShort('x'));
});

test('connectiontimeout: at least 1 ms', () => {
  assert.equal(member('connectiontimeout=1ms').m.connectionTimeout, 1);
  assert.equal(member('connectiontimeout=2').m.connectionTimeout, 2000);
  assert.equal(member('connectiontimeout=1ms').outcome, undefined);
  assert.equal(workerError('connectiontimeout=0'), 'connectiontimeout "0" is not a valid time; expected at least 1ms (seconds by default)');
});

test('status: flags set and cleared after + and -, case-insensitive; unknown flags refused', () => {
  assert.deepEqual(member('status=+H').m.status, ['H']);
  assert.deepEqual(member('status=d').m.status, ['D']);
  assert.deepEqual(member('status=DS-D').m.status, ['S']);
  assert.deepEqual(member('status=+H-H+E').m.status, ['E']);
  assert.deepEqual(member('status=IN-I+C').m.status, ['N', 'C']);
  assert.equal(member('status=+H').outcome, undefined);
  assert.equal(workerError('status=+X'), 'status "+X" has unknown flag "X"; expected flags from I, N, D, S, E, H, R, C, each optionally after + or -');
});

test('health-check parameters: interval at least 100 ms, passes and fails 0 counted as 1, methods and URIs', () => {
  const exprs = new Map([['ok', { source, text: '{%{REQUEST_STATUS} =~ /^[23]/}' } as never]]);
  const context = {
    healthExpr: (name: string) => {
      const value = exprs.get(name.toLowerCase());
      return value && { value };
    },
    healthTemplate: () => undefined,
  };
  const m = newMember('http://10.0.0.1:8080', source);
  for (const word of ['hcinterval=100ms', 'hcpasses=0', 'hcfails=1000000', 'hcuri=health?x=1', 'hcexpr=OK', 'hcmethod=GET11']) {
    assert.equal(setWorkerParam(m, splitParam(word)!, context), undefined, word);
  }
  assert.deepEqual(m.healthCheck, { method: 'GET', uri: '/health?x=1', interval: 100, passes: 1, fails: 1_000_000, expr: exprs.get('ok') });
  assert.equal(workerError('hcinterval=99ms'), 'hcinterval "99ms" is not a valid time; expected at least 100ms (seconds by default)');
  assert.equal(workerError('hcpasses=1000001'), 'hcpasses "1000001" is not a whole number; expected 1 or more (0 counts as 1, as in httpd)');
  assert.equal(workerError('hcfails=-1'), 'hcfails "-1" is not a whole number; expected 1 or more (0 counts as 1, as in httpd)');
  assert.equal(workerError(`hcuri=/${'u'.repeat(63)}`), `hcuri "/${'u'.repeat(63)}" is too long (64 characters); expected at most 63`);
  assert.equal(member(`hcuri=/${'u'.repeat(62)}`).outcome, undefined);
  assert.equal(workerError('hcexpr=missing'), 'hcexpr "missing" names no ProxyHCExpr defined before this line; expected ProxyHCExpr missing {expression} above it');
  assert.equal(workerError('hcmethod=CPING'), 'hcmethod "CPING" is not supported (it is for AJP members; Stickler speaks HTTP only); expected NONE, TCP, OPTIONS, HEAD or GET');
  assert.equal(workerError('hcmethod=PROVIDER'), 'hcmethod "PROVIDER" is not supported (httpd does not implement it either); expected NONE, TCP, OPTIONS, HEAD or GET');
  assert.equal(workerError('hcmethod=TCP11'), 'hcmethod "TCP11" is not supported; expected NONE, TCP, OPTIONS, HEAD or GET');
  assert.equal(workerError('hctemplate=x'), 'hctemplate "x" names no ProxyHCTemplate defined before this line; expected ProxyHCTemplate x hcmethod=... above it');
  assert.equal(member('hcmethod=tcp').m.healthCheck?.method, 'TCP');
  assert.deepEqual([member('hcpasses=3').m, member('hcfails=3').m].map((x) => hasDormantHealthCheck(x)), [true, true]);
});

test('hc* values without hcmethod wait for one; hcmethod=NONE turns checking off and keeps them for a later method', () => {
  const m = newMember('http://10.0.0.1:8080', source);
  const set = (word: string) => assert.equal(setWorkerParam(m, splitParam(word)!), undefined, word);
  assert.equal(hasDormantHealthCheck(m), false);
  set('hcpasses=3');
  assert.equal(m.healthCheck, undefined);
  assert.equal(hasDormantHealthCheck(m), true);
  set('hcmethod=NONE');
  assert.equal(hasDormantHealthCheck(m), false);
  set('hcfails=2');
  assert.equal(hasDormantHealthCheck(m), false);
  set('hcmethod=HEAD');
  assert.deepEqual(m.healthCheck, { method: 'HEAD', uri: '/', interval: 30_000, passes: 3, fails: 2 });
  assert.equal(hasDormantHealthCheck(m), false);
  set('hcmethod=none');
  assert.equal(m.healthCheck, undefined);
  set('hcmethod=OPTIONS11');
  assert.deepEqual(m.healthCheck, { method: 'OPTIONS', uri: '/', interval: 30_000, passes: 3, fails: 2 });
});

test('httpd\'s own connection-handling parameters are accepted with a warning, each of them', () => {
  const keys = ['acquire', 'ping', 'keepalive', 'disablereuse', 'enablereuse', 'max', 'smax', 'min', 'ttl', 'iobuffersize',
    'receivebuffersize', 'responsefieldsize', 'flushpackets', 'flushwait', 'addressttl', 'upgrade', 'secret', 'flusher', 'mapping'];
  for (const key of keys) {
    assert.deepEqual(member(`${key}=1`).outcome, { warning: `ignored: parameter ${key} has no meaning for Stickler (it manages backend connections itself)` });
  }
});

test('unknown worker parameters: ignored ones warn, balancer ones say where they belong, typos get a suggestion', () => {
  assert.deepEqual(member('keepalive=On').outcome, { warning: 'ignored: parameter keepalive has no meaning for Stickler (it manages backend connections itself)' });
  assert.match(workerError('lbmethod=bybusyness') ?? '', /^unknown parameter "lbmethod" \(lbmethod is a balancer parameter: put it on the ProxyPass or ProxySet of the balancer\); expected one of route, /);
  assert.match(workerError('rout=a') ?? '', /^unknown parameter "rout" \(did you mean "route"\?\); expected one of route, loadfactor, /);
});

test('stickysession: COOKIE or COOKIE|urlparam; an empty name on either side of | is refused', () => {
  assert.deepEqual(balancer('stickysession=JSESSIONID').b.sticky, { cookie: 'JSESSIONID', urlParam: 'JSESSIONID' });
  assert.deepEqual(balancer('stickysession=JSESSIONID|jsessionid').b.sticky, { cookie: 'JSESSIONID', urlParam: 'jsessionid' });
  assert.equal(balancer('stickysession=A|b').outcome, undefined);
  for (const v of ['A|', '|a', '', '|']) {
    assert.equal(balancerError(`stickysession=${v}`), `stickysession "${v}" has an empty name; expected COOKIE or COOKIE|urlparam`);
  }
  const at = 'S'.repeat(63);
  assert.deepEqual(balancer(`stickysession=${at}`).b.sticky, { cookie: at, urlParam: at });
  assert.equal(balancerError(`stickysession=${at}S`), `stickysession "${at}S" has a name of 64 characters; expected names of at most 63`);
});

test('lbmethod, stickysessionsep and the On/Off switches', () => {
  assert.equal(balancer('lbmethod=ByBusyness').b.lbmethod, 'bybusyness');
  assert.equal(balancerError('lbmethod=heartbeat'), 'lbmethod "heartbeat" is not supported by Stickler (it needs mod_heartmonitor); expected byrequests, bybusyness or bytraffic');
  assert.equal(balancerError('lbmethod=x'), 'lbmethod "x" is not known; expected byrequests, bybusyness or bytraffic');
  assert.equal(balancer('stickysessionsep=Off').b.stickySeparator, null);
  assert.equal(balancer('stickysessionsep=é').b.stickySeparator, 'é');
  assert.equal(balancer('stickysessionsep=_').outcome, undefined);
  assert.equal(balancerError('stickysessionsep='), 'stickysessionsep "" is not a single character; expected one character (such as .) or Off');
  const b = newBalancer('b', source);
  for (const word of ['scolonpathdelim=On', 'nofailover=on', 'failontimeout=ON', 'forcerecovery=Off']) {
    assert.equal(setBalancerParam(b, splitParam(word)!), undefined);
  }
  assert.deepEqual([b.scolonPathDelim, b.nofailover, b.failOnTimeout, b.forceRecovery], [true, true, true, false]);
  assert.equal(balancerError('nofailover=yes'), 'nofailover "yes" is not On or Off; expected On or Off');
});

test('maxattempts 0 or more, growth 0 to 100, failonstatus codes 100 to 599', () => {
  assert.equal(balancer('maxattempts=0').b.maxAttempts, 0);
  assert.equal(balancer('maxattempts=1000000').b.maxAttempts, 1_000_000);
  assert.equal(balancerError('maxattempts=1000001'), 'maxattempts "1000001" is out of range; expected a whole number from 0 to 1000000');
  assert.equal(balancerError('maxattempts=-1'), 'maxattempts "-1" is not a whole number; expected a whole number from 0 to 1000000');
  assert.equal(balancer('growth=0').b.growth, 0);
  assert.equal(balancer('growth=100').b.growth, 100);
  assert.equal(balancer('growth=100').outcome, undefined);
  assert.equal(balancerError('growth=101'), 'growth "101" is not a number from 0 to 100 (spare member slots for the balancer manager)');
  assert.deepEqual(balancer('failonstatus=100, 599,503').b.failOnStatus, [100, 599, 503]);
  assert.deepEqual(balancer('failonstatus=,503').b.failOnStatus, [503]);
  assert.equal(balancer('failonstatus=100').outcome, undefined);
  assert.equal(balancerError('failonstatus=99'), 'failonstatus "99" contains "99"; expected HTTP status codes from 100 to 599 separated by commas');
  assert.equal(balancerError('failonstatus=503,600'), 'failonstatus "503,600" contains "600"; expected HTTP status codes from 100 to 599 separated by commas');
});

test('unknown balancer parameters: nonce is ignored with a warning, member ones say where they belong', () => {
  assert.deepEqual(balancer('nonce=x').outcome, { warning: 'ignored: balancer parameter nonce is not implemented by Stickler' });
  assert.match(balancerError('route=a') ?? '', /^unknown balancer parameter "route" \(route is a member parameter: put it on the BalancerMember line\); expected one of lbmethod, /);
  assert.match(balancerError('lbmethd=x') ?? '', /^unknown balancer parameter "lbmethd" \(did you mean "lbmethod"\?\); /);
});

test('new members and balancers carry httpd defaults', () => {
  assert.deepEqual(newMember('http://a', source), { source, url: 'http://a', route: '', redirect: '', loadfactor: 1, lbset: 0, status: [], retry: 60_000 });
  assert.deepEqual(newBalancer('b', source), {
    source, name: 'b', lbmethod: 'byrequests', stickySeparator: '.', scolonPathDelim: false, nofailover: false,
    timeout: 0, forceRecovery: true, failOnStatus: [], members: [], growth: 0,
  });
});

test('values: On/Off, whole numbers in a range, times with ms, s, mi or h', () => {
  assert.deepEqual(['on', 'OFF', 'On', 'yes'].map(parseOnOff), [true, false, true, undefined]);
  assert.equal(parseInteger('0', 0, 9), 0);
  assert.equal(parseInteger('9', 0, 9), 9);
  assert.equal(parseInteger('10', 0, 9), undefined);
  assert.equal(parseInteger('4', 5, 9), undefined);
  assert.equal(parseInteger('999999999', 0, Infinity), 999_999_999);
  assert.equal(parseInteger('1000000000', 0, Infinity), undefined);
  assert.equal(parseInteger('+1', 0, 9), undefined);
  assert.equal(parseInteger('1 ', 0, 9), undefined);
  assert.equal(parseDuration('7', 's'), 7000);
  assert.equal(parseDuration('7', 'ms'), 7);
  assert.equal(parseDuration('7MS', 's'), 7);
  assert.equal(parseDuration('2mi', 's'), 120_000);
  assert.equal(parseDuration('1h', 'ms'), 3_600_000);
  assert.equal(parseDuration('3s', 'ms'), 3000);
  assert.equal(parseDuration('999999999', 'ms'), 999_999_999);
  for (const bad of ['1000000000', '1m', '1.5', '-1', ' 1', '1 s', 's', '']) assert.equal(parseDuration(bad, 's'), undefined, bad);
});
