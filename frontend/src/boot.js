// Runs before the app's module graph has loaded (a small classic script, async): starts the
// request for the dashboard the opened route draws, so the server works while the browser
// is still parsing the app.
import { parseHash, shownDashboard } from './route.js';
import { prefetch } from './panel-data.js';

const shown = shownDashboard(parseHash());
if (shown) prefetch(shown.id, shown.seconds);
