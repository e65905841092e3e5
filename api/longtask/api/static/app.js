// The longtask dashboard: vanilla ES modules, no build step, nothing loaded from another host.
// Each view is one module under views/; registering it here puts it in the navigation (see
// api/README.md, "Adding a view to the dashboard").

import { register, start } from "./lib/router.js";
import history from "./views/history.js";
import overview from "./views/overview.js";
import queues from "./views/queues.js";
import schedules from "./views/schedules.js";
import task from "./views/task.js";
import tasks from "./views/tasks.js";

register(overview);
register(tasks);
register(task);
register(schedules);
register(queues);
register(history);

start();
