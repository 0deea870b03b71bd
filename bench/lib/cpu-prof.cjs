// Preloaded with NODE_OPTIONS=--require (which refuses --cpu-prof): profiles the whole process
// with the inspector and writes TETHER_PROF_DIR/<pid>.cpuprofile when it exits.
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 500 });
session.post('Profiler.start');
process.on('exit', () => {
  session.post('Profiler.stop', (err, { profile }) => {
    if (!err)
      fs.writeFileSync(
        path.join(process.env.TETHER_PROF_DIR, `${process.pid}.cpuprofile`),
        JSON.stringify(profile),
      );
  });
});
