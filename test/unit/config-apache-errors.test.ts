// Every kind of problem in an Apache configuration gives one exact, actionable `file:line: Directive: message`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { formatDiagnostic } from '../../src/config/model.ts';
import { listenerClashes } from '../../src/config/listeners.ts';

const BALANCER = ['<Proxy balancer://b>', 'BalancerMember http://10.0.0.1:8080 route=n1', '</Proxy>'];

function load(lines: string[]) {
  return loadApacheConfigText(lines.join('\n') + '\n', 't.conf');
}

function errors(lines: string[]): string[] {
  const r = load(lines);
  const out = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  assert.equal(r.config, undefined, 'a configuration with errors must not load');
  return out;
}

function warnings(lines: string[]): string[] {
  return load(lines).diagnostics.filter((d) => d.severity === 'warning').map(formatDiagnostic);
}

test('an unclosed section is reported at the line where it opened', () => {
  assert.deepEqual(errors(['Listen 80', '<Location /x>', 'Require all granted']), [
    't.conf:2: <Location>: <Location> opened here is never closed (expected </Location> before end of file)',
  ]);
});

test('a close tag with nothing open is a stray close tag', () => {
  assert.deepEqual(errors(['Listen 80', '</Proxy>']), [
    't.conf:2: </Proxy>: closing tag without a matching <Proxy>; expected an opening <Proxy> before it',
  ]);
});

test('a close tag that does not match the open section is reported with the section to close', () => {
  assert.deepEqual(errors(['Listen 80', '<Proxy *>', '</Location>', '</Proxy>']), [
    't.conf:3: </Location>: does not close <Proxy> opened at line 2, and no <Location> is open; expected </Proxy>',
  ]);
});

test('closing an outer section reports the inner one as unclosed', () => {
  assert.deepEqual(errors(['<VirtualHost *:80>', '<Proxy *>', '</VirtualHost>']), [
    't.conf:2: <Proxy>: <Proxy> opened here is never closed (expected </Proxy> before </VirtualHost> at line 3)',
  ]);
});

test('a misspelt directive is an unknown directive with a suggestion', () => {
  assert.deepEqual(errors(['Listen 80', 'ProxyPas / http://10.0.0.1/']), [
    't.conf:2: ProxyPas: unknown directive (did you mean "ProxyPass"?); expected an Apache httpd 2.4 directive',
  ]);
});

test('an unknown section name is an error', () => {
  assert.deepEqual(errors(['Listen 80', '<Locaton /x>', '</Locaton>']), [
    't.conf:2: <Locaton>: unknown section (did you mean "Location"?); expected an Apache httpd section such as <VirtualHost>, <Proxy> or <Location>',
  ]);
});

test('BalancerMember outside any balancer is a context error', () => {
  assert.deepEqual(errors(['Listen 80', 'BalancerMember http://10.0.0.1:8080']), [
    't.conf:2: BalancerMember: outside a <Proxy balancer://...> section the balancer must come first; expected BalancerMember balancer://name url [key=value ...]',
  ]);
  assert.deepEqual(errors(['Listen 80', '<Proxy *>', 'BalancerMember http://10.0.0.1:8080', '</Proxy>']), [
    't.conf:3: BalancerMember: not inside a balancer: <Proxy *> is not a balancer; expected it inside <Proxy balancer://name>',
  ]);
});

test('a directive in a section where httpd does not allow it', () => {
  assert.deepEqual(errors(['<VirtualHost *:80>', 'Listen 8080', '</VirtualHost>']), [
    't.conf:2: Listen: not allowed inside a <VirtualHost>; expected it in the main server',
  ]);
});

test('a missing argument names what was expected', () => {
  assert.deepEqual(errors(['Listen 80', 'ServerName']), ['t.conf:2: ServerName: missing argument; expected a host name']);
});

test('an unknown balancer parameter on ProxyPass lists the valid ones', () => {
  assert.deepEqual(errors(['Listen 80', ...BALANCER, 'ProxyPass / balancer://b/ stikysession=JSESSIONID']), [
    't.conf:5: ProxyPass: unknown balancer parameter "stikysession" (did you mean "stickysession"?); expected one of lbmethod, stickysession, stickysessionsep, scolonpathdelim, nofailover, maxattempts, timeout, forcerecovery, failonstatus, failontimeout, growth',
  ]);
});

test('a member parameter on a balancer ProxyPass says where it belongs', () => {
  assert.deepEqual(errors(['Listen 80', ...BALANCER, 'ProxyPass / balancer://b/ route=x']), [
    't.conf:5: ProxyPass: unknown balancer parameter "route" (route is a member parameter: put it on the BalancerMember line); expected one of lbmethod, stickysession, stickysessionsep, scolonpathdelim, nofailover, maxattempts, timeout, forcerecovery, failonstatus, failontimeout, growth',
  ]);
});

test('an unknown BalancerMember parameter', () => {
  assert.deepEqual(errors(['Listen 80', '<Proxy balancer://b>', 'BalancerMember http://10.0.0.1:8080 loadfator=1', '</Proxy>']), [
    't.conf:3: BalancerMember: unknown parameter "loadfator" (did you mean "loadfactor"?); expected one of route, loadfactor, status, retry, timeout, connectiontimeout, lbset, redirect, hcmethod, hcuri, hcinterval, hcpasses, hcfails, hcexpr, hctemplate',
  ]);
});

test('loadfactor out of range or not a number', () => {
  assert.deepEqual(errors(['Listen 80', '<Proxy balancer://b>', 'BalancerMember http://10.0.0.1:8080 loadfactor=0', 'BalancerMember http://10.0.0.2:8080 loadfactor=x', '</Proxy>']), [
    't.conf:3: BalancerMember: loadfactor "0" is out of range; expected a number from 1 to 100',
    't.conf:4: BalancerMember: loadfactor "x" is not a number; expected a number from 1 to 100',
  ]);
});

test('a bad status flag', () => {
  assert.deepEqual(errors(['Listen 80', '<Proxy balancer://b>', 'BalancerMember http://10.0.0.1:8080 status=+X', '</Proxy>']), [
    't.conf:3: BalancerMember: status "+X" has unknown flag "X"; expected flags from I, N, D, S, E, H, R, C, each optionally after + or -',
  ]);
});

test('a bad lbmethod, and heartbeat which Stickler does not implement', () => {
  assert.deepEqual(errors(['Listen 80', ...BALANCER, 'ProxySet balancer://b lbmethod=roundrobin', 'ProxySet balancer://b lbmethod=heartbeat']), [
    't.conf:5: ProxySet: lbmethod "roundrobin" is not known; expected byrequests, bybusyness or bytraffic',
    't.conf:6: ProxySet: lbmethod "heartbeat" is not supported by Stickler (it needs mod_heartmonitor); expected byrequests, bybusyness or bytraffic',
  ]);
});

test('a bad On/Off value, in a directive and in a parameter', () => {
  assert.deepEqual(errors(['Listen 80', ...BALANCER, 'ProxyPreserveHost yes', 'ProxySet balancer://b nofailover=1']), [
    't.conf:5: ProxyPreserveHost: "yes" is not On or Off; expected On or Off',
    't.conf:6: ProxySet: nofailover "1" is not On or Off; expected On or Off',
  ]);
});

test('a bad port in Listen and in VirtualHost', () => {
  assert.deepEqual(errors(['Listen 99999', 'Listen 80', '<VirtualHost *:8x>', '</VirtualHost>']), [
    't.conf:1: Listen: port "99999" in "99999" is not a port number; expected 1 to 65535',
    't.conf:3: <VirtualHost>: port "8x" in "*:8x" is not a port number; expected 1 to 65535',
  ]);
});

test('the same Listen twice is refused by the verification, as httpd refuses it; `*` and 0.0.0.0 are one socket', () => {
  const twice = load(['Listen 0.0.0.0:80', '<IfModule mod_gnutls.c>', 'Listen 0.0.0.0:80', '</IfModule>']);
  assert.deepEqual(listenerClashes(twice.config!.listeners).map(formatDiagnostic), [
    't.conf:3: Listen: 0.0.0.0:80 is already listened on at line 1; httpd refuses multiple listeners on the same address and port; expected one Listen per address:port',
  ]);
  // httpd 2.4.71 starts with `Listen 80` then `Listen 0.0.0.0:80` and binds one socket.
  const spelled = load(['Listen 80', 'Listen 0.0.0.0:80']);
  assert.deepEqual(spelled.config?.listeners.map((l) => `${l.host}:${l.port}@${l.source.line}`), ['0.0.0.0:80@1']);
  assert.deepEqual(listenerClashes(spelled.config!.listeners), []);
});

test('a balancer used but never defined', () => {
  assert.deepEqual(errors(['Listen 80', 'ProxyPass / balancer://nope/']), [
    't.conf:2: ProxyPass: balancer://nope is used but never defined; expected a <Proxy balancer://nope> section with BalancerMember lines',
  ]);
});

test('ProxySet outside <Proxy> before anything names its balancer', () => {
  assert.deepEqual(errors(['Listen 80', 'ProxySet balancer://b lbmethod=bybusyness', 'BalancerMember balancer://b http://10.0.0.1:8080', 'ProxyPass / balancer://b/']), [
    't.conf:2: ProxySet: balancer://b is not defined before this line; expected the ProxySet inside <Proxy balancer://b>, or after the BalancerMember or ProxyPass lines that name it',
  ]);
  const r = load(['Listen 80', 'BalancerMember balancer://b http://10.0.0.1:8080', 'ProxySet balancer://b lbmethod=bybusyness', 'ProxyPass / balancer://b/']);
  assert.equal(r.config?.balancers[0]?.lbmethod, 'bybusyness');
});

test('a balancer with no members', () => {
  assert.deepEqual(errors(['Listen 80', '<Proxy balancer://empty>', 'ProxySet lbmethod=bybusyness', '</Proxy>', 'ProxyPass / balancer://empty/']), [
    't.conf:2: <Proxy>: balancer://empty has no members; expected at least one BalancerMember',
  ]);
});

test('two members of one balancer with the same route', () => {
  assert.deepEqual(errors(['Listen 80', '<Proxy balancer://b>', 'BalancerMember http://10.0.0.1:8080 route=n1', 'BalancerMember http://10.0.0.2:8080 route=n1', '</Proxy>']), [
    't.conf:4: BalancerMember: route "n1" is already used by http://10.0.0.1:8080 (line 3) in balancer://b; expected a unique route per member',
  ]);
});

test('Include of a missing file is an error; IncludeOptional of one is nothing', () => {
  const lines = ['Listen 80', 'IncludeOptional /nonexistent/stickler/*.conf', 'Include /nonexistent/stickler/site.conf'];
  assert.deepEqual(errors(lines), [
    't.conf:3: Include: "/nonexistent/stickler/site.conf" (/nonexistent/stickler/site.conf) matches no file; expected an existing file, directory or wildcard with matches (IncludeOptional allows none)',
  ]);
});

test('SSLEngine On without a certificate', () => {
  assert.deepEqual(errors(['<VirtualHost *:443>', 'SSLEngine On', '</VirtualHost>']), [
    't.conf:2: SSLEngine: SSLEngine On without a certificate; expected SSLCertificateFile (and SSLCertificateKeyFile unless the key is in the same file) in this virtual host or the main server',
  ]);
});

test('stickysessionsep of two characters', () => {
  assert.deepEqual(errors(['Listen 80', ...BALANCER, 'ProxyPass / balancer://b/ stickysessionsep=::']), [
    't.conf:5: ProxyPass: stickysessionsep "::" is not a single character; expected one character (such as .) or Off',
  ]);
});

test('an unterminated quote', () => {
  assert.deepEqual(errors(['Listen 80', 'ServerAdmin "ops@example.com']), [
    't.conf:2: ServerAdmin: unterminated quote: " opened at column 13 is never closed; expected a matching " before the end of the line',
  ]);
});

test('ProxyRequests On: forward proxying is refused', () => {
  assert.deepEqual(errors(['Listen 80', 'ProxyRequests On']), [
    't.conf:2: ProxyRequests: forward proxying is not supported by Stickler; expected ProxyRequests Off (Stickler is a reverse proxy only)',
  ]);
});

test('a backend scheme Stickler cannot speak', () => {
  assert.deepEqual(errors(['Listen 80', 'ProxyPass /app ajp://10.0.0.1:8009/app']), [
    't.conf:2: ProxyPass: scheme ajp:// of "ajp://10.0.0.1:8009/app" is not supported by Stickler; expected http://, https:// or balancer://',
  ]);
});

test('a ProxyPass inside <Location> must not repeat the path', () => {
  assert.deepEqual(errors(['Listen 80', ...BALANCER, '<Location /app>', 'ProxyPass /app balancer://b/app', '</Location>']), [
    't.conf:6: ProxyPass: a ProxyPass inside <Location /app> takes no path (the location\'s path is used); expected ProxyPass target [key=value ...] inside <Location>',
  ]);
});

test('an authorization provider Stickler does not implement is refused, not ignored', () => {
  assert.deepEqual(errors(['Listen 80', '<Location /balancer-manager>', 'SetHandler balancer-manager', 'Require group admins', '</Location>']), [
    't.conf:4: Require: "Require group admins" is not supported by Stickler; expected Require [not] all granted|denied, ip, host, local, or valid-user',
  ]);
});

test('Require ip with something that is not an address', () => {
  assert.deepEqual(errors(['Listen 80', '<Location />', 'Require ip 10.0.0.300', '</Location>']), [
    't.conf:3: Require: "10.0.0.300" is not an IP address or network; expected forms like 10.1.2.3, 10.1, 10.0.0.0/8, 10.0.0.0/255.0.0.0 or 2001:db8::/32',
  ]);
});

test('all errors are collected, not only the first', () => {
  const found = errors(['Listen 80', 'ProxyPas / x', ...BALANCER, 'ProxyPass / balancer://b/ lbmethod=x', 'ProxyRequests On']);
  assert.equal(found.length, 3);
});

test('a ProxyPass exclusion after the catch-all that shadows it is a warning', () => {
  assert.deepEqual(warnings(['Listen 80', ...BALANCER, 'ProxyPass / balancer://b/', 'ProxyPass /balancer-manager !']), [
    't.conf:6: ProxyPass: ProxyPass /balancer-manager ! (an exclusion) is never reached: ProxyPass / at line 5 matches first (httpd tries ProxyPass rules in order); expected the exclusion before the rule that covers it',
  ]);
});

test('a rejected directive says what to do instead', () => {
  assert.deepEqual(errors(['Listen 80', 'ProxyPassMatch ^/app(.*)$ http://10.0.0.1:8080/$1']), [
    't.conf:2: ProxyPassMatch: regular-expression ProxyPass rules are not supported by Stickler; use ProxyPass with a path prefix',
  ]);
});

test('nothing to listen on', () => {
  assert.deepEqual(errors(['ServerName example.com']), [
    't.conf:1: Listen: nothing to listen on; expected a Listen directive or a <VirtualHost host:port>',
  ]);
});

test('a member that is one of the listeners is refused at its BalancerMember or ProxyPass line', () => {
  assert.deepEqual(errors([
    'Listen 8443',
    'Listen 127.0.0.1:9090',
    '<Proxy balancer://b>',
    'BalancerMember http://10.0.0.1:8080',
    'BalancerMember http://localhost:8443',
    'BalancerMember http://[::ffff:127.0.0.1]:9090/balancer-manager',
    '</Proxy>',
    'ProxyPass /b balancer://b/',
    'ProxyPass /m http://127.0.0.1:9090/',
  ]), [
    't.conf:5: BalancerMember: http://localhost:8443 is Stickler\'s own listener 0.0.0.0:8443: requests would loop back into Stickler, and through the manager\'s listener arrive from this machine, past "Require local"; expected the address of another server',
    't.conf:6: BalancerMember: http://[::ffff:127.0.0.1]:9090/balancer-manager is Stickler\'s own listener 127.0.0.1:9090: requests would loop back into Stickler, and through the manager\'s listener arrive from this machine, past "Require local"; expected the address of another server',
    't.conf:9: ProxyPass: http://127.0.0.1:9090 is Stickler\'s own listener 127.0.0.1:9090: requests would loop back into Stickler, and through the manager\'s listener arrive from this machine, past "Require local"; expected the address of another server',
  ]);
  const other = load(['Listen 127.0.0.1:9090', '<Proxy balancer://b>', 'BalancerMember http://127.0.0.2:9090', '</Proxy>', 'ProxyPass / balancer://b/']);
  assert.deepEqual(other.diagnostics.filter((d) => d.severity === 'error'), []);
});
