const pad = require('left-pad');
require('http').createServer((q, r) => r.end(pad('ok', 4))).listen(3000);
