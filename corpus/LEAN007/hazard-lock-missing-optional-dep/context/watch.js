require('chokidar').watch('.').on('all', console.log)
