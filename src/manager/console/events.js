// The pushed snapshots (server-sent events, one a second) and the connection state the header shows: live,
// reconnecting, stale when the socket is open but nothing came, down when the browser gave up.
import { openEvents } from './api.js';
import { setText } from './dom.js';

/** Events come every second; this long without one means the stream is stuck even if the socket is open. */
const STALE_AFTER_MS = 3_500;
const RECONNECT_MS = 3_000;
const CONNECTION_TEXT = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', stale: 'No updates', down: 'Disconnected, retrying' };

let lastEventAt = 0;
let connection = 'connecting';

function setConnection(state) {
  connection = state;
  const node = document.getElementById('connection');
  node.className = `conn conn-${state}`;
  const quiet = state === 'stale' ? ` for ${Math.round((Date.now() - lastEventAt) / 1000)} s` : '';
  setText(node, `${CONNECTION_TEXT[state]}${quiet}`);
}

function connect(onSnapshot) {
  const source = openEvents();
  source.addEventListener('open', () => setConnection('live'));
  source.addEventListener('message', (event) => {
    let overview;
    try {
      overview = JSON.parse(event.data);
    } catch {
      return;
    }
    lastEventAt = Date.now();
    if (connection !== 'live') setConnection('live');
    onSnapshot(overview);
  });
  source.addEventListener('error', () => {
    // The browser reconnects by itself unless the answer was not an event stream (a 401 or 403, say).
    if (source.readyState !== EventSource.CLOSED) {
      setConnection('reconnecting');
      return;
    }
    setConnection('down');
    setTimeout(() => connect(onSnapshot), RECONNECT_MS);
  });
}

function watchStaleness() {
  setInterval(() => {
    if ((connection === 'live' || connection === 'stale') && Date.now() - lastEventAt > STALE_AFTER_MS) setConnection('stale');
  }, 1000);
}

/** Hands every pushed snapshot to `onSnapshot`, reconnecting for as long as the page is open. */
export function followEvents(onSnapshot) {
  connect(onSnapshot);
  watchStaleness();
}
