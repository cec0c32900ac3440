// Inlined into index.html and run as the page is parsed, before the app's module has loaded:
// starts the request for the dashboard the opened route draws, so the server works while
// the browser is still fetching and compiling the app.
import { parseHash, shownDashboard } from './route.js';
import { prefetch } from './panel-data.js';

const shown = shownDashboard(parseHash());
if (shown) prefetch(shown.id, shown.seconds);
