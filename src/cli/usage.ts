// The text of `stickler --help`, and of every usage error.
export const usage = `Usage:
  stickler [--config FILE] [--envvars FILE] [--verbose] [--workers N|auto] [--access-log FILE|-] [--json-log] [--pid-file FILE]
      Run the balancer on FILE: an Apache httpd configuration (httpd.conf, a vhost file...)
      or a native YAML file (.yaml/.yml). Without --config, run the embedded demo: a
      self-signed certificate and two demo backend nodes behind https://localhost:8443/,
      on loopback only unless --listen says otherwise.
  stickler --check --config FILE [--envvars FILE] [--verbose]
      Test FILE as the start would: read it, then open and parse every certificate, key, chain,
      CA, htpasswd, token and OCSP file, match each key to its certificate, check that the logs
      and state files can be written and that no two listeners clash. Prints the effective
      configuration (native YAML) and exits 0, or prints every error as
      "file:line: Directive: what is wrong" and exits 2. Warnings go to stderr.
  stickler --check --probe [--probe-path PATH] --config FILE
      After the checks, start one session on each member with a route= of each balancer with a stickysession:
      a GET of the balancer's path (or of PATH, a client's URL path such as the login page, mapped as
      traffic is) straight to the member (its URL, its TLS settings), and print the route its
      session cookie carries beside the route configured, a line per member, instead of the YAML. Exits 2 when
      a member issues another route or none (Tomcat: jvmRoute on the <Engine>), 1 when one could not be
      reached, else 0. A running balancer warns about such a member on stderr, once every 10 minutes.
  stickler convert FILE
      Print the native YAML equivalent of an Apache configuration, Header and RequestHeader rules included.
  stickler explain --config FILE URL [--cookie 'NAME=value']... [--header 'Name: value']...
      Print why a request for URL (https://host/path, or /path for the first virtual host) would go to the
      member it would: the virtual host and ProxyPass matched, the balancer, the session route and where it
      came from, the member chosen and why, and each member passed over and why. Nothing is forwarded and
      nothing counted. Reads the manager's state file if FILE names one (BalancerPersist, manager.state-file),
      and says which state it used. Exits 0, 1 when URL is not proxied to a balancer, 2 on a bad FILE.
  stickler reload --pid-file FILE [--config FILE]
      Ask the balancer started with --pid-file FILE to re-read its configuration, and wait for its verdict:
      exit 0 once the new configuration serves (its new warnings are printed), 1 with the reasons when it is
      refused (the running configuration keeps serving). With --config, the file is validated here first, as
      apachectl graceful does, and an invalid one is not sent for (exit 2). Fit for systemd's ExecReload.
  stickler stop --pid-file FILE
      Stop the balancer gracefully and wait until it has exited (at most graceful-shutdown-timeout and a few
      seconds more); prints "stopped".
  stickler status --pid-file FILE
      Print what runs: version, configuration file, start time, the last reload and its verdict, the addresses
      listened on, and every balancer's members with their state.
  stickler rollout --manager URL --token-file FILE --balancer NAME --exec 'COMMAND {route} {url}'
          [--idle DURATION] [--max-wait DURATION] [--health-timeout DURATION] [--command-timeout DURATION]
          [--dry-run] [--insecure | --ca FILE]
      Restart the members of balancer NAME one at a time through the manager of a running Stickler (URL: its
      base, such as http://127.0.0.1:9090/balancer-manager; FILE holds a bearer token of its token-file): drain,
      wait until none of its sessions sent a request for --idle (default the balancer's stop-when-idle) or
      --max-wait (default 30m) has passed, disable, run COMMAND with sh ({route} and {url} as one word each, from
      the environment; at most --command-timeout, default 10m), wait until the member answers and is not in error
      (at most --health-timeout, default 5m), enable it (slow start ramps it), then the next. A failing command, a
      member that does not come back or an unreachable manager stops the rollout, enables that member again and
      exits 1; a member taken out by someone else meanwhile stops it before the next drain. --dry-run prints the
      plan. --insecure or --ca FILE for an https manager. The token file must not be readable by other users.
  stickler --version
      Print the version.

Options:
  -c, --config FILE      configuration file
      --check            validate only
      --probe            with --check: ask each member which route its sessions carry
      --probe-path PATH  with --probe: the page that starts a session (default: the balancer's path)
      --envvars FILE     read FILE as apache2ctl reads Debian's envvars before the configuration (Apache
                         files only); by default $APACHE_ENVVARS, else $APACHE_CONFDIR/envvars, else the
                         envvars file beside the main configuration file, if there is one
      --verbose          list every directive ignored for having no meaning for a load balancer,
                         instead of one line that counts them
      --workers N|auto   serve with N worker threads (auto: one per core) sharing one balancer
                         state; default 1, a single thread
      --access-log DEST  Stickler's own access log, of every request: a file path, - for standard output, or
                         "|command" for a piped logger; besides the file's CustomLog and TransferLog lines (or
                         log.logs), and instead of a native file's log.access. Its lines are Apache's combined
                         format followed by route= and backend_ms= (or the native file's log.format)
      --json-log         write Stickler's own log as JSON lines; with --config it needs --access-log (the
                         demo's own log is standard output)
      --pid-file FILE    write the process id to FILE while running (removed at exit)
      --shared-state URL share manager edits with the other instances using the same Redis:
                         redis://[USER@]HOST:PORT/DB or rediss://... (TLS); over the file's shared-state url
      --listen ADDRESS   demo only: listen on ADDRESS instead of 127.0.0.1 (0.0.0.0: all interfaces)
      --port N           demo only: listen on port N instead of 8443
      --manager-port N   demo only: serve the balancer manager on 127.0.0.1:N instead of 9090
  -h, --help             this text
  -v, --version          the version

Signals: SIGHUP re-reads the configuration file and serves new connections with it, without
dropping any; an invalid file is refused and the running configuration keeps serving. reload, stop and
status talk to the balancer over a Unix socket beside the pid file (FILE.sock, mode 0600: only its owner, and
root, can connect), which the balancer removes at exit with the pid file.
SIGTERM and SIGINT stop: listeners close, requests in progress finish within the graceful
shutdown timeout (30 s by default); a second signal stops at once.
SIGUSR1 opens every access log file again by its name (after logrotate renamed it, as nginx does), in every
worker thread: lines before the signal stay in the renamed file, whole; the next go to the new file. A file
that cannot be opened again is reported and keeps receiving the lines. Piped loggers are left as they are; the
manager's audit log needs no signal (it is opened for each entry).

Exit status: 0 success, 1 runtime failure (a port in use) or a refused reload, 2 invalid configuration
(including a file it names that is missing or broken, as --check reports it) or usage, 3 no balancer runs with that pid file (reload, stop, status),
4 no answer in time (reload: 60 s; stop: graceful-shutdown-timeout and 5 s).
Documentation: docs/configuration.md (native YAML), docs/apache-compat.md (Apache directives).`;
